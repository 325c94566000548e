/**
 * The catalog pipeline's activities: products, users, inventory and reviews, each read from the
 * shop database by keyset chunks over [start, end) of updated_at, streamed raw to the lake and
 * merged into staging as one idempotent load `<workflowId>/<source>`. The shop side reads in one
 * REPEATABLE READ, READ ONLY transaction, so all chunks see one snapshot.
 */
import { Context } from '@temporalio/activity';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Pool, PoolClient } from 'pg';
import { mergeRows, type CopyValue } from '../lib/bulk';
import { rethrowClassified } from '../lib/errors';
import { utcDate } from '../lib/lake';
import type { LoadSummary, PartitionInput } from '../workflows/partitions';
import { chunkSql, SOURCES, validateRow, type CatalogSource, type SourceSpec } from './catalog-sources';
import { advanceCursor } from './cursors';
import { runLoad } from './loads';
import { quarantineRecords, type Rejected } from './quarantine-lake';
import { rawJsonlStream } from './raw';

export const DEFAULT_CHUNK_ROWS = 5_000;

export interface CatalogDeps { staging: Pool; shop: Pool; s3: S3Client; bucket: string }

/** workflowId names the load (`<workflowId>/<source>`); chunkRows only changes how rows are read. */
export interface CatalogSourceInput extends PartitionInput { workflowId: string; chunkRows?: number }
export interface CatalogSourceOutput { load: LoadSummary; chunks: number }

async function withSnapshot<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('begin transaction isolation level repeatable read read only');
    const out = await fn(c);
    await c.query('commit');
    return out;
  } catch (err) {
    await c.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

async function loadSource(deps: CatalogDeps, spec: SourceSpec, input: CatalogSourceInput): Promise<CatalogSourceOutput> {
  const ctx = Context.current();
  const start = new Date(input.partitionStart).toISOString();
  const end = new Date(input.partitionEnd).toISOString();
  const loadId = `${input.workflowId}/${spec.source}`;
  const dt = utcDate(start);
  const lake = { s3: deps.s3, bucket: deps.bucket };
  const limit = input.chunkRows ?? DEFAULT_CHUNK_ROWS;
  let chunks = 0;
  const meta = { loadId, pipeline: 'catalog', source: spec.source, partitionStart: start, partitionEnd: end };
  const load = await runLoad(deps.staging, meta, (client) => withSnapshot(deps.shop, async (shop) => {
    const raw = rawJsonlStream(lake, { source: spec.source, dt, loadId });
    const rejected: Rejected[] = [];
    let received = 0;
    let valid = 0;
    let loaded = 0;
    let last: unknown[] | null = null;
    for (;;) {
      const { rows } = await shop.query<Record<string, unknown>>(chunkSql(spec, last === null), [start, end, limit, ...(last ?? [])]);
      if (rows.length === 0) break;
      chunks++;
      await raw.write(rows);
      const values: CopyValue[][] = [];
      rows.forEach((row, i) => {
        const v = validateRow(spec, row);
        if (v.ok) values.push([...(v.values as CopyValue[]), loadId]);
        else rejected.push({ ref: `${received + i + 1}:${spec.keys.slice(1).map((k) => String(row[k])).join('|')}`, reason: v.reason, record: row });
      });
      received += rows.length;
      valid += values.length;
      loaded += await mergeRows(client, spec.staging, [...spec.columns, 'load_id'], values);
      const tail = rows[rows.length - 1] as Record<string, unknown>;
      last = spec.keys.map((k) => tail[k]);
      ctx.heartbeat({ source: spec.source, chunks, received });
      if (rows.length < limit) break;
    }
    await raw.end();
    await quarantineRecords(client, lake, { source: spec.source, dt, loadId }, rejected);
    if (!input.backfill) await advanceCursor(client, { pipeline: 'catalog', source: spec.source, column: 'updated_at', value: end });
    return { received, loaded, quarantined: rejected.length, duplicates: valid - loaded, detail: { chunks } };
  }));
  return { load, chunks };
}

export function createCatalogActivities(deps: CatalogDeps) {
  // deps is read at call time, not destructured: a test may hand the activities another shop pool.
  const activity = (source: CatalogSource) => async (input: CatalogSourceInput): Promise<CatalogSourceOutput> => {
    try {
      return await loadSource(deps, SOURCES[source], input);
    } catch (err) {
      rethrowClassified(err, `catalog ${source} partition ${input.partitionStart}..${input.partitionEnd} (load ${input.workflowId}/${source})`);
    }
  };
  return {
    loadProducts: activity('products'),
    loadUsers: activity('users'),
    loadInventory: activity('inventory'),
    loadReviews: activity('reviews'),
  };
}

export type CatalogActivities = ReturnType<typeof createCatalogActivities>;
