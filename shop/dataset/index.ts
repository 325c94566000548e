/** The dataset layout's public API: rules, record checks, readers and the manifest type. */
export * from './layout';
export * from './rules';
export * from './records';
export * from './manifest';
export * from './csv';
export { DatasetError } from './dataset-error';
export * from './read-sources';
export * from './catalog-readers';
