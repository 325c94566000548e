/**
 * The catalog pipeline's activities: products, users, inventory and reviews, each read from the
 * shop database by keyset chunks over [start, end) of updated_at, streamed raw to the lake and
 * merged into staging as one idempotent load `<workflowId>/<source>`. The shop side reads in one
 * REPEATABLE READ, READ ONLY transaction, so all chunks (and the rerun check) see one snapshot.
 */
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Pool, PoolClient } from 'pg';
import { mergeRows, type CopyValue } from '../../lib/bulk';
import { rethrowClassified } from '../../lib/errors';
import { utcDate } from '../../lib/lake';
import type { LoadSummary, PartitionInput } from '../../contract/pipeline';
import { chunkSql, CATALOG_SPECS, CHUNK_COLUMNS, validateRow, type CatalogSource, type CatalogSourceSpec } from './sources';
import { advanceCursor } from '../common/cursors';
import { heartbeat, whileAlive } from '../common/heartbeat';
import { runLoad } from '../common/loads';
import { inTransaction } from '../common/transaction';
import { quarantineRecords, type Rejected } from '../common/quarantine';
import { rawJsonlStream } from '../common/raw';

export const DEFAULT_CHUNK_ROWS = 5_000;
/** A chunk stops at the row that passes this many bytes: rows can be megabytes each. */
export const DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024;

export interface CatalogDeps { staging: Pool; shop: Pool; s3: S3Client; bucket: string }

/** workflowId names the load (`<workflowId>/<source>`); chunkRows and chunkBytes only change how rows are read. */
export interface CatalogSourceInput extends PartitionInput { workflowId: string; chunkRows?: number; chunkBytes?: number }

interface Window { start: string; end: string; rows: number; bytes: number }
export interface CatalogSourceOutput { load: LoadSummary; chunks: number }

/** All of a source's reads (the chunks and the rerun check) see one snapshot of the shop. */
const withSnapshot = <T>(pool: Pool, fn: (c: PoolClient) => Promise<T>) => inTransaction(pool, fn, 'begin transaction isolation level repeatable read read only');

/**
 * The window's rows in keyset chunks, all from the snapshot of `shop`. A chunk ends at `rows` rows
 * or at the row that passes `bytes`; only a chunk cut by neither is the last.
 */
async function* chunksOf(shop: PoolClient, spec: CatalogSourceSpec, w: Window): AsyncGenerator<Record<string, unknown>[]> {
  let last: unknown[] | null = null;
  for (;;) {
    const { rows }: { rows: Record<string, unknown>[] } = await shop.query<Record<string, unknown>>(chunkSql(spec, last === null), [w.start, w.end, w.rows, w.bytes, ...(last ?? [])]);
    const tail: Record<string, unknown> | undefined = rows[rows.length - 1];
    if (!tail) return;
    const bytes = Number(tail.chunk_bytes_);
    for (const row of rows) for (const c of CHUNK_COLUMNS) delete row[c];
    yield rows;
    if (rows.length < w.rows && bytes < w.bytes) return;
    last = spec.keys.map((k): unknown => tail[k]);
  }
}

const jsonLines = (rows: readonly unknown[]) => rows.map((r) => JSON.stringify(r) + '\n').join('');

/**
 * The load id: `<workflowId>/<source>`, unless that load succeeded over different rows (the shop
 * changed since). Then `.../changed-<sha>`: the merge counts what was staged as duplicates and
 * adds what is new, where skipping by id alone would silently miss it. Costs a second read of the
 * window, on reruns only.
 */
async function loadIdFor(deps: CatalogDeps, shop: PoolClient, spec: CatalogSourceSpec, base: string, window: Window, beat: () => void): Promise<string> {
  const { rows } = await deps.staging.query<{ sha256: string | null }>("select detail->>'sha256' as sha256 from etl.loads where load_id = $1 and status = 'succeeded'", [base]);
  if (!rows[0]) return base;
  const hash = createHash('sha256');
  for await (const chunk of chunksOf(shop, spec, window)) {
    hash.update(jsonLines(chunk));
    beat();
  }
  const sha = hash.digest('hex');
  return rows[0].sha256 === sha ? base : `${base}/changed-${sha.slice(0, 16)}`;
}

/**
 * Validates one chunk of rows as read (text values) and merges the valid ones into the source's
 * staging table; rejected ones are appended to `rejected`, numbered after the `before` rows already
 * read. Shared by the live load and the rebuild from the lake (activities/rebuild).
 */
export async function mergeCatalogChunk(client: PoolClient, spec: CatalogSourceSpec, rows: readonly Record<string, unknown>[], loadId: string, before: number, rejected: Rejected[]): Promise<{ valid: number; loaded: number }> {
  const values: CopyValue[][] = [];
  rows.forEach((row, i) => {
    const v = validateRow(spec, row);
    if (v.ok) values.push([...(v.values as CopyValue[]), loadId]);
    else rejected.push({ ref: `${before + i + 1}:${spec.keys.slice(1).map((k) => String(row[k])).join('|')}`, reason: v.reason, record: row });
  });
  return { valid: values.length, loaded: await mergeRows(client, spec.staging, [...spec.columns, 'load_id'], values) };
}

async function loadSource(deps: CatalogDeps, spec: CatalogSourceSpec, input: CatalogSourceInput): Promise<CatalogSourceOutput> {
  const start = new Date(input.partitionStart).toISOString();
  const end = new Date(input.partitionEnd).toISOString();
  const window: Window = { start, end, rows: input.chunkRows ?? DEFAULT_CHUNK_ROWS, bytes: input.chunkBytes ?? DEFAULT_CHUNK_BYTES };
  const dt = utcDate(start);
  const lake = { s3: deps.s3, bucket: deps.bucket };
  let chunks = 0;
  let received = 0;
  const beat = () => heartbeat({ source: spec.source, chunks, received });
  // A timer heartbeats too, so a dead worker is noticed within the 30 s timeout however slow a chunk is.
  return whileAlive(() => withSnapshot(deps.shop, async (shop) => {
    const loadId = await loadIdFor(deps, shop, spec, `${input.workflowId}/${spec.source}`, window, beat);
    const meta = { loadId, pipeline: 'catalog', source: spec.source, partitionStart: start, partitionEnd: end };
    const load = await runLoad(deps.staging, meta, async (client) => {
      const raw = rawJsonlStream(lake, { source: spec.source, dt, loadId });
      const hash = createHash('sha256');
      const rejected: Rejected[] = [];
      let valid = 0;
      let loaded = 0;
      try {
        for await (const rows of chunksOf(shop, spec, window)) {
          chunks++;
          await raw.writeMany(rows);
          hash.update(jsonLines(rows));
          const merged = await mergeCatalogChunk(client, spec, rows, loadId, received, rejected);
          received += rows.length;
          valid += merged.valid;
          loaded += merged.loaded;
          beat();
        }
      } catch (err) {
        await raw.abort();
        throw err;
      }
      await raw.end();
      await quarantineRecords(client, lake, { source: spec.source, dt, loadId }, rejected);
      if (!input.backfill) await advanceCursor(client, { pipeline: 'catalog', source: spec.source, column: 'updated_at', value: end });
      return { received, loaded, quarantined: rejected.length, duplicates: valid - loaded, detail: { chunks, sha256: hash.digest('hex') } };
    });
    return { load, chunks };
  }), () => ({ source: spec.source, chunks, received }));
}

export function createCatalogActivities(deps: CatalogDeps) {
  // deps is read at call time, not destructured: a test may hand the activities another shop pool.
  const activity = (source: CatalogSource) => async (input: CatalogSourceInput): Promise<CatalogSourceOutput> => {
    try {
      return await loadSource(deps, CATALOG_SPECS[source], input);
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
