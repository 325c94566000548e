// Every workflow the worker registers. Deterministic code only: see eslint.config.mjs.
export * from './smoke';
export * from './orders';
export * from './catalog';
export * from './transform';
export * from './scheduled';
export { alertDeliveryWorkflow } from './alerting';
export * from './backfill';
export * from './files';
export * from './events-stream';
export * from './realtime';
export * from './monitor';
export * from './rebuild';
export * from './churn';
export * from './freshness';
