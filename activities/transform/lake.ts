/**
 * Curated lake: each analytics table of a date as Parquet at curated/<table>/dt=<date>/part-00000.parquet.
 * The name is deterministic, so a re-run overwrites the file, and anything else under the prefix
 * (left by an older layout) is deleted after the upload: a partition is replaced, never added to.
 * Names leave the database only masked (user_behavior and dim_customer go through mask_name).
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import type { Pool, PoolClient } from 'pg';
import { lakeKey, partitionPrefix } from '../../lib/lake';
import { copyToCsv, csvToParquet } from '../../lib/parquet';
import { listObjects, putObject } from '../../lib/s3';
import { heartbeat as beat } from '../common/heartbeat';

export const PART_NAME = 'part-00000.parquet';

/**
 * A curated table's query: `select` gives its rows (of one date, or the whole snapshot), and
 * `orderBy` the stable row order of the file. DuckDB sorts them while it writes the Parquet
 * (lib/parquet.ts): a busy date's user_behavior sorted by PostgreSQL spilled 115 MB to disk, and
 * the read took 2.5 s against 1.9 s unsorted, on the one core the date's work runs on.
 */
export interface CuratedQuery { select: (d: string) => string; orderBy?: string }

/** The query with its order, as PostgreSQL would run it (what the tests compare the files with). */
export const curatedSql = (q: CuratedQuery, d: string): string => `${q.select(d)}${q.orderBy ? ` order by ${q.orderBy}` : ''}`;

/** Per-date curated tables and the query giving one date of each, in a stable row order. */
export const CURATED_BY_DATE: Record<string, CuratedQuery> = {
  fact_order_line: { select: (d) => `select * from fact_order_line where order_date = '${d}'`, orderBy: 'source, order_id, line_no' },
  user_behavior: { select: (d) => `select * from user_behavior where date = '${d}'`, orderBy: 'event_id' },
  orders_by_date: { select: (d) => `select * from orders_by_date where order_date = '${d}'` },
  daily_traffic: { select: (d) => `select * from daily_traffic where event_date = '${d}'`, orderBy: 'event_name' },
  daily_unique_visitors: { select: (d) => `select * from daily_unique_visitors where event_date = '${d}'` },
  product_sales_daily: { select: (d) => `select * from product_sales_daily where order_date = '${d}'`, orderBy: 'product_id' },
  product_events_daily: { select: (d) => `select * from product_events_daily where event_date = '${d}'`, orderBy: 'product_id, event_name' },
  funnel_daily: { select: (d) => `select * from funnel_daily where event_date = '${d}'` },
  dq_findings: { select: (d) => `select * from dq_findings where finding_date = '${d}'`, orderBy: 'source, kind' },
};

/** Dimensions are snapshots: dt is the day of the run that wrote them. */
export const CURATED_SNAPSHOTS: Record<string, CuratedQuery> = {
  dim_product: { select: () => 'select * from dim_product', orderBy: 'product_id' },
  dim_customer: { select: () => `select customer_id, public.mask_name(user_name) as user_name, country, signup_date, updated_at, inferred from dim_customer`, orderBy: 'customer_id' },
};

export interface CuratedInput { date: string; tables?: string[] }
export interface CuratedOutput { date: string; objects: number; rows: Record<string, number> }

/**
 * beforeUpload: a test's pause point, called after a table's copy is read and before it is uploaded
 * (test/integration/transform-lake.test.ts holds a run there to show the date lock at work).
 */
export interface LakeDeps { analytics: Pool; s3: S3Client; bucket: string; beforeUpload?: (date: string, table: string) => Promise<void> }

/**
 * atSnapshot: run first inside the read's snapshot (the statement that fixes it), before any table is read.
 * lock: the advisory lock's prefix; the date's own (`transform-date:`, loadDate's) for a date's tables.
 */
export async function writeCurated(deps: LakeDeps, input: CuratedInput, queries: Record<string, CuratedQuery> = CURATED_BY_DATE,
  atSnapshot?: (client: PoolClient) => Promise<void>, lock = 'transform-date:'): Promise<CuratedOutput> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(input.date)) throw new Error(`curated partition date must be YYYY-MM-DD, got ${input.date}`);
  const tables = input.tables ?? Object.keys(queries);
  const unknown = tables.find((t) => !queries[t]);
  if (unknown) throw new Error(`unknown curated table ${unknown}`);
  const dir = await mkdtemp(join(tmpdir(), 'etl-curated-'));
  const client = await deps.analytics.connect();
  const rows: Record<string, number> = {};
  let objects = 0;
  let locked = false;
  let failed: Error | undefined;
  // One connection reads the tables one after another; each table's Parquet is written and
  // uploaded (in table order) while the next table is read, so the date's two cores both work.
  let written: Promise<void> = Promise.resolve();
  let lost: unknown;
  try {
    // The lock (for a date's tables, the one loadDate takes; for the dimension snapshots, their
    // own), held over the snapshot and the uploads, so a copy read before another run's write
    // cannot land after that run's own copy. Taken before the snapshot: in repeatable read the
    // first statement fixes it, even one that waits for a lock.
    await client.query(`select pg_advisory_lock(hashtext($2 || $1))`, [input.date, lock]);
    locked = true;
    // One snapshot for every table of the date, so the files agree with each other.
    await client.query(`begin isolation level repeatable read read only`);
    await client.query(`set local timezone = 'UTC'`);
    await atSnapshot?.(client);
    for (const table of tables) {
      if (lost !== undefined) break;
      const query = queries[table] as CuratedQuery;
      const csv = await copyToCsv(client, query.select(input.date), join(dir, `${table}.csv`));
      if (lost !== undefined) break;
      written = written.then(async () => {
        const file = join(dir, `${table}.parquet`);
        const n = await csvToParquet(csv, file, query.orderBy);
        await rm(csv.csv, { force: true });
        rows[table] = n;
        const key = lakeKey('curated', table, input.date, PART_NAME);
        await deps.beforeUpload?.(input.date, table);
        if (n > 0) {
          await putObject(deps.s3, deps.bucket, key, await readFile(file), 'application/vnd.apache.parquet');
          objects += 1;
        }
        await rm(file, { force: true });
        await removeOthers(deps, partitionPrefix('curated', table, input.date), n > 0 ? key : undefined);
        beat({ date: input.date, table });
      });
      // Seen by the loop before its next read; the rejection itself is thrown by the await below.
      written.catch((err: unknown) => { lost = err; });
    }
    await written;
    await client.query('commit');
  } catch (err) {
    failed = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    // A read that failed leaves the tables before it being written: they finish (or fail) before
    // their files are removed, and before the activity says it failed. (A read that failed because
    // the connection died has lost the session's lock too: those uploads may then end outside it.)
    await written.catch(() => undefined);
    if (failed) {
      // The connection may be mid-COPY (see extract.ts): closing it ends the transaction and the
      // session lock with it; a rollback or unlock queued behind the COPY could wait forever.
      client.release(failed);
    } else {
      // A session lock that cannot be released must not go back to the pool with its connection.
      const unlocked = !locked || await client.query(`select pg_advisory_unlock(hashtext($2 || $1))`, [input.date, lock]).then(() => true, () => false);
      client.release(!unlocked);
    }
    await rm(dir, { recursive: true, force: true });
  }
  return { date: input.date, objects, rows };
}

async function removeOthers(deps: LakeDeps, prefix: string, keep: string | undefined): Promise<void> {
  const stale = (await listObjects(deps.s3, deps.bucket, prefix)).map((o) => o.key).filter((k) => k !== keep);
  if (stale.length === 0) return;
  await deps.s3.send(new DeleteObjectsCommand({ Bucket: deps.bucket, Delete: { Objects: stale.map((Key) => ({ Key })), Quiet: true } }));
}

/**
 * The dimension snapshots. The marks of inferred rows (work.dims_pending) visible in the snapshot are
 * covered by it, and deleted once it is uploaded: by id, since a mark committed after the snapshot
 * may have a lower id than one before it. Only by a snapshot of a live run (its `dt` within the last
 * two days): one a backfilled hour writes under its old `dt` leaves the latest snapshot stale, so
 * its marks stay for the next live run.
 */
export async function writeCuratedSnapshots(deps: LakeDeps, input: CuratedInput): Promise<CuratedOutput> {
  let covered: string[] = [];
  // A lock of their own, not the date's: a snapshot is written while the run's dates load (the
  // workflow's DIMS_BESIDE_DATES_PATCH), and its dt is usually one of them. Only two snapshots of
  // one dt must not interleave; a date's load and a snapshot meet through the pending marks.
  const out = await writeCurated(deps, input, CURATED_SNAPSHOTS, async (client) => {
    covered = (await client.query<{ id: string }>('select id from work.dims_pending')).rows.map((r) => r.id);
  }, 'transform-dims:');
  const live = Date.parse(`${input.date}T00:00:00Z`) >= Date.now() - 2 * 86_400_000;
  if (covered.length > 0 && live) await deps.analytics.query('delete from work.dims_pending where id = any($1::bigint[])', [covered]);
  return out;
}
