/**
 * The pipeline's Prometheus metrics (issue 16, docs/operations.md), in one registry per process
 * (prom-client). Counters and histograms here count what this process did: summed across workers,
 * they are the pipeline's totals since the workers started. Labels are bounded sets (pipeline,
 * source, outcome): never a user id, an order id or a partition.
 */
import { Counter, Histogram, Registry } from 'prom-client';

export const registry = new Registry();

export const rowsTotal = new Counter({
  name: 'etl_rows_total',
  help: 'Rows of successful loads by pipeline, source and outcome (received = loaded + quarantined + duplicate), as in etl.loads.',
  labelNames: ['pipeline', 'source', 'outcome'] as const,
  registers: [registry],
});

export const loadsTotal = new Counter({
  name: 'etl_loads_total',
  help: 'Loads finished by this worker, by pipeline, source and status (succeeded or failed).',
  labelNames: ['pipeline', 'source', 'status'] as const,
  registers: [registry],
});

export const loadDuration = new Histogram({
  name: 'etl_load_duration_seconds',
  help: 'Wall time of a successful load, from its start to its commit.',
  labelNames: ['pipeline', 'source'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900],
  registers: [registry],
});

/** Called once a load's transaction committed (activities/common/loads.ts). */
export function loadSucceeded(meta: { pipeline: string; source: string }, counts: { received: number; loaded: number; quarantined: number; duplicates: number }, seconds: number): void {
  const l = { pipeline: meta.pipeline, source: meta.source };
  rowsTotal.inc({ ...l, outcome: 'received' }, counts.received);
  rowsTotal.inc({ ...l, outcome: 'loaded' }, counts.loaded);
  rowsTotal.inc({ ...l, outcome: 'quarantined' }, counts.quarantined);
  rowsTotal.inc({ ...l, outcome: 'duplicate' }, counts.duplicates);
  loadsTotal.inc({ ...l, status: 'succeeded' });
  loadDuration.observe(l, seconds);
}

export function loadFailed(meta: { pipeline: string; source: string }): void {
  loadsTotal.inc({ pipeline: meta.pipeline, source: meta.source, status: 'failed' });
}
