/**
 * Checksums that say whether a rebuild from raw brought a shop back (test/integration/rebuild,
 * bench/rebuild.ts): every staging source table without its bookkeeping columns, the loaded files
 * and Kafka offsets, every analytics table and view, and the curated Parquet as read back by a
 * reader other than its writer. Plus the wipe the recovery test starts from.
 */
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Pool } from 'pg';
import { STAGING_TABLES } from '../../activities/rebuild';
import { getObjectBytes, listObjects } from '../../lib/s3';

/** Analytics relations not compared: check results name runs; migration records are not data. */
const NOT_COMPARED = new Set(['data_checks', 'data_checks_latest', 'schema_migrations', 'schema_code']);

/**
 * `<rows>:<md5 of the rows' text, sorted>` over every column but `exclude`. `only` keeps the rows a
 * condition holds for, and `as` puts an expression in a column's place (both may use `params`).
 */
export async function tableChecksum(db: Pool, relation: string, exclude: readonly string[] = [],
  o: { only?: string; as?: Record<string, string>; params?: unknown[] } = {}): Promise<string> {
  const [schema, name] = relation.includes('.') ? (relation.split('.') as [string, string]) : ['public', relation];
  const { rows: cols } = await db.query<{ c: string; name: string }>(
    'select quote_ident(column_name) as c, column_name as name from information_schema.columns where table_schema = $1 and table_name = $2 and not (column_name = any($3)) order by ordinal_position',
    [schema, name, exclude]);
  const { rows } = await db.query<{ n: string; md5: string | null }>(
    `select count(*)::text as n, md5(string_agg(r, E'\\n' order by r)) as md5 from (select (${cols.map((c) => o.as?.[c.name] ?? c.c).join(', ')})::text as r
       from ${schema}.${name} t where ${o.only ?? 'true'}) x`, o.params ?? []);
  return `${rows[0]?.n}:${rows[0]?.md5 ?? '-'}`;
}

export async function stagingChecksums(staging: Pool): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  // load_id and ingested_at say which load staged a row and when, not what it holds.
  for (const t of STAGING_TABLES) out[`staging.${t}`] = await tableChecksum(staging, `staging.${t}`, ['load_id', 'ingested_at']);
  out['etl.files'] = await tableChecksum(staging, 'etl.files', ['loaded_at']);
  out['etl.kafka_offsets'] = await tableChecksum(staging, 'etl.kafka_offsets', ['updated_at']);
  // The quarantined records and their reasons come back too (the load that quarantined them is the rebuild's).
  out['etl.quarantine'] = await tableChecksum(staging, 'etl.quarantine', ['id', 'load_id', 'quarantined_at']);
  return out;
}

/** Every table and view of analytics' public schema (realtime minutes left out: they name wall-clock minutes). */
export async function analyticsChecksums(analytics: Pool): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const { rows } = await analytics.query<{ r: string }>(
    `select table_name as r from information_schema.tables where table_schema = 'public' and table_name not like 'realtime%' order by 1`);
  for (const { r } of rows.filter((x) => !NOT_COMPARED.has(x.r))) out[`analytics.${r}`] = await tableChecksum(analytics, r);
  return out;
}

/** The curated Parquet, read back by hyparquet (DuckDB writes it): `<rows>:<md5>` per object. */
export async function curatedChecksums(s3: S3Client, bucket: string): Promise<Record<string, string>> {
  const { parquetReadObjects } = await import('hyparquet');
  const out: Record<string, string> = {};
  for (const o of (await listObjects(s3, bucket, 'curated/')).sort((a, b) => a.key.localeCompare(b.key))) {
    const bytes = await getObjectBytes(s3, bucket, o.key);
    const rows = await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer });
    out[o.key] = `${rows.length}:${createHash('md5').update(JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).digest('hex')}`;
  }
  return out;
}

/**
 * Truncates every staging and bookkeeping table, and every analytics and work table (not the migration
 * records), and drops the date partitions of fact_event and work.events: a database dropped and
 * made again (the procedure of docs/recovery.md) has none, and an empty one left by a truncation
 * would make the rebuild load its date through the slower path (work.load_events, or the extract's
 * merge into a partition already keyed).
 */
export async function truncateAll(staging: Pool, analytics: Pool): Promise<void> {
  await staging.query(`do $$ declare r record; begin
    for r in select schemaname, tablename from pg_tables where schemaname in ('staging', 'etl') loop
      execute format('truncate %I.%I cascade', r.schemaname, r.tablename); end loop; end $$`);
  await analytics.query(`do $$ declare r record; begin
    for r in select schemaname, tablename from pg_tables where schemaname = 'work' or (schemaname = 'public' and tablename not like 'schema%') loop
      execute format('truncate %I.%I cascade', r.schemaname, r.tablename); end loop; end $$`);
  await analytics.query(`do $$ declare r record; begin
    for r in select i.inhrelid::regclass::text as part from pg_inherits i where i.inhparent in ('public.fact_event'::regclass, 'work.events'::regclass) loop
      execute format('drop table %s', r.part); end loop; end $$`);
}
