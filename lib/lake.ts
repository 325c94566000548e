/**
 * Object keys of the S3 lake. One place, so every writer and reader agrees on the layout:
 *   raw/<source>/dt=YYYY-MM-DD/<name>         immutable copies of what was received
 *   curated/<table>/dt=YYYY-MM-DD/<name>      cleaned Parquet, Hive-style partitions
 *   quarantine/<source>/dt=YYYY-MM-DD/<name>  rejected records with their reasons
 *   drop/purchases/<name>                     where purchase files arrive
 */
export type Zone = 'raw' | 'curated' | 'quarantine';

export const DROP_PREFIX = 'drop/purchases/';

export function utcDate(ts: Date | string): string {
  const d = typeof ts === 'string' ? new Date(ts) : ts;
  if (Number.isNaN(d.getTime())) throw new Error(`not a valid timestamp: ${String(ts)}`);
  return d.toISOString().slice(0, 10);
}

export function partitionPrefix(zone: Zone, dataset: string, dt: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(dt)) throw new Error(`partition dt must be YYYY-MM-DD, got ${dt}`);
  if (!/^[a-z0-9_]+$/.test(dataset)) throw new Error(`dataset name must be snake_case, got ${dataset}`);
  return `${zone}/${dataset}/dt=${dt}/`;
}

export function lakeKey(zone: Zone, dataset: string, dt: string, name: string): string {
  if (name.includes('/') || name.length === 0) throw new Error(`object name must be a plain file name, got ${name}`);
  return partitionPrefix(zone, dataset, dt) + name;
}

/** Turns a load id such as `orders/2024-01-01T00:00:00.000Z/extract` into a safe object name part. */
export function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]+/g, '_');
}
