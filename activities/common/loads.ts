/**
 * The idempotent load: every load has an id; its rows and its record in etl.loads are written in
 * one transaction. A load already recorded as succeeded is not applied again, so a retried
 * activity or a repeated run leaves staging unchanged (dlt's load-package pattern).
 */
import type { Pool, PoolClient } from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadSummary } from '../../contract/pipeline';
import { heartbeat } from './heartbeat';
import { loadFailed, loadSucceeded } from '../../lib/metrics';

export interface LoadMeta {
  loadId: string;
  pipeline: string;
  source: string;
  partitionStart?: string;
  partitionEnd?: string;
}

/** lost: records the source deleted before they could be read (Kafka retention); never part of received. */
export interface LoadCounts { received: number; loaded: number; quarantined: number; duplicates: number; lost?: number; detail?: Record<string, unknown> }

const reconciles = (c: LoadCounts) => c.received === c.loaded + c.quarantined + c.duplicates;

/**
 * Runs `body` in a transaction that also records the load. If the load id already succeeded the
 * body is not run and the recorded counts are returned with skipped = true.
 */
export async function runLoad(pool: Pool, meta: LoadMeta, body: (client: PoolClient) => Promise<LoadCounts>): Promise<LoadSummary> {
  const began = performance.now();
  const client = await pool.connect();
  let released = false;
  const release = (broken?: Error) => {
    if (!released) client.release(broken);
    released = true;
  };
  try {
    await client.query('begin');
    await client.query(
      `insert into etl.loads (load_id, pipeline, source, partition_start, partition_end, status)
       values ($1, $2, $3, $4, $5, 'running') on conflict (load_id) do nothing`,
      [meta.loadId, meta.pipeline, meta.source, meta.partitionStart ?? null, meta.partitionEnd ?? null],
    );
    // Serialises concurrent attempts at the same load: the second waits here, then sees 'succeeded'.
    const prior = await client.query<{ status: string; received: number; loaded: number; quarantined: number; duplicates: number }>(
      'select status, received, loaded, quarantined, duplicates from etl.loads where load_id = $1 for update',
      [meta.loadId],
    );
    const row = prior.rows[0];
    if (row?.status === 'succeeded') {
      await client.query('rollback');
      return { loadId: meta.loadId, source: meta.source, received: row.received, loaded: row.loaded, quarantined: row.quarantined, duplicates: row.duplicates, skipped: true };
    }
    return await succeed(client, meta, await body(client), began);
  } catch (err) {
    // The connection goes back before the failure is recorded through another one: loads failing
    // at once would otherwise each hold one while waiting for a second, and a full pool never frees.
    // One that cannot even roll back is discarded.
    const rolledBack = await client.query('rollback').then(() => true, () => false);
    release(rolledBack ? undefined : err instanceof Error ? err : new Error(String(err)));
    await recordFailure(pool, meta, err);
    throw err;
  } finally {
    release();
  }
}

/** One committed piece of a load (etl.load_pieces). */
export interface LoadPiece {
  piece: number;
  endLine: number;
  endByte: number;
  counts: LoadCounts;
  attempt: number;
  /** What the reader needs to go on after endByte. */
  state: Record<string, unknown>;
}

export interface PieceLoad {
  /** In a transaction; committed piece by piece by commitPiece, and at the end by runPieceLoad. */
  client: PoolClient;
  /** Pieces committed by earlier attempts, in order: the body resumes after the last one. */
  done: LoadPiece[];
  /** Commits the open transaction with the piece's row, and opens the next one. */
  commitPiece(p: Omit<LoadPiece, 'piece' | 'attempt'>): Promise<void>;
}

/**
 * runLoad for a load too big for one transaction: the body commits pieces as it goes
 * (`commitPiece`), and a later attempt gets them in `done` and goes on after the last. The load
 * succeeds, with the counts the body returns for the whole of it, only in the last piece's
 * transaction. Attempts at the same load are serialised by a session advisory lock held from
 * start to end; a killed worker's connection closes and lets it go. Rows of committed pieces stay
 * in staging if the load never completes (a file failing for good after them).
 */
export async function runPieceLoad(pool: Pool, meta: LoadMeta, attempt: number, body: (p: PieceLoad) => Promise<LoadCounts>): Promise<LoadSummary> {
  const began = performance.now();
  const client = await pool.connect();
  const lockKey = `etl.loads/${meta.loadId}`;
  let locked = false;
  let broken: Error | undefined;
  let released = false;
  try {
    // Waiting for another attempt beats, and stops when this attempt is cancelled or timed out
    // (heartbeat throws), rather than holding a pooled connection in a lock wait for good.
    for (;;) {
      const { rows: [got] } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as ok', [lockKey]);
      if (got?.ok) break;
      heartbeat({ waiting: `another attempt at ${meta.loadId}` });
      await sleep(500);
    }
    locked = true;
    const { rows: [row] } = await client.query<{ status: string; received: number; loaded: number; quarantined: number; duplicates: number }>(
      `insert into etl.loads (load_id, pipeline, source, partition_start, partition_end, status)
       values ($1, $2, $3, $4, $5, 'running') on conflict (load_id) do update set load_id = excluded.load_id
       returning status, received, loaded, quarantined, duplicates`,
      [meta.loadId, meta.pipeline, meta.source, meta.partitionStart ?? null, meta.partitionEnd ?? null],
    );
    if (row?.status === 'succeeded') {
      return { loadId: meta.loadId, source: meta.source, received: row.received, loaded: row.loaded, quarantined: row.quarantined, duplicates: row.duplicates, skipped: true };
    }
    const { rows: pieces } = await client.query<{ piece: number; end_line: string; end_byte: string; received: number; loaded: number; quarantined: number; duplicates: number; attempt: number; state: Record<string, unknown>; detail: Record<string, unknown> }>(
      'select * from etl.load_pieces where load_id = $1 order by piece', [meta.loadId]);
    const done: LoadPiece[] = pieces.map((p) => ({
      piece: p.piece, endLine: Number(p.end_line), endByte: Number(p.end_byte), attempt: p.attempt, state: p.state,
      counts: { received: p.received, loaded: p.loaded, quarantined: p.quarantined, duplicates: p.duplicates, detail: p.detail },
    }));
    let next = done.length + 1;
    await client.query('begin');
    const counts = await body({
      client,
      done,
      async commitPiece(p) {
        if (!reconciles(p.counts)) throw new Error(`load ${meta.loadId} piece ${next} does not reconcile: ${JSON.stringify({ ...p.counts, detail: undefined })}`);
        await client.query(
          `insert into etl.load_pieces (load_id, piece, end_line, end_byte, received, loaded, quarantined, duplicates, attempt, state, detail)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [meta.loadId, next, p.endLine, p.endByte, p.counts.received, p.counts.loaded, p.counts.quarantined, p.counts.duplicates, attempt,
            JSON.stringify(p.state), JSON.stringify(p.counts.detail ?? {})],
        );
        await client.query('commit');
        next++;
        await client.query('begin');
      },
    });
    return await succeed(client, meta, counts, began);
  } catch (err) {
    const rolledBack = await client.query('rollback').then(() => true, () => false);
    if (!rolledBack) broken = err instanceof Error ? err : new Error(String(err));
    await letGo();
    await recordFailure(pool, meta, err); // after the connection went back, as in runLoad
    throw err;
  } finally {
    await letGo();
  }

  async function letGo() {
    if (released) return;
    released = true;
    // A pooled connection keeps session locks: unlock, or drop the connection when that fails.
    if (locked && !broken) {
      await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]).catch((e: unknown) => (broken = e instanceof Error ? e : new Error(String(e))));
    }
    client.release(broken);
  }
}

/** Records the load as succeeded with its counts, which must reconcile, and commits its transaction. */
async function succeed(client: PoolClient, meta: LoadMeta, counts: LoadCounts, began: number): Promise<LoadSummary> {
  if (!reconciles(counts)) {
    throw new Error(`load ${meta.loadId} does not reconcile: received ${counts.received} != loaded ${counts.loaded} + quarantined ${counts.quarantined} + duplicates ${counts.duplicates}`);
  }
  // `lost` (migration 091) only when there is a loss: a worker ahead of its database's migrations
  // still loads everything else.
  const lost = counts.lost ? ', lost = $7' : '';
  await client.query(
    `update etl.loads set status = 'succeeded', received = $2, loaded = $3, quarantined = $4, duplicates = $5,
       finished_at = now(), detail = $6${lost} where load_id = $1`,
    [meta.loadId, counts.received, counts.loaded, counts.quarantined, counts.duplicates, JSON.stringify(counts.detail ?? {}), ...(counts.lost ? [counts.lost] : [])],
  );
  await client.query('commit');
  loadSucceeded(meta, counts, (performance.now() - began) / 1000);
  return {
    loadId: meta.loadId, source: meta.source, received: counts.received, loaded: counts.loaded, quarantined: counts.quarantined, duplicates: counts.duplicates,
    ...(counts.lost ? { lost: counts.lost } : {}),
  };
}

async function recordFailure(pool: Pool, meta: LoadMeta, err: unknown): Promise<void> {
  loadFailed(meta);
  const message = err instanceof Error ? err.message : String(err);
  await pool
    .query(
      `insert into etl.loads (load_id, pipeline, source, partition_start, partition_end, status, finished_at, detail)
       values ($1, $2, $3, $4, $5, 'failed', now(), jsonb_build_object('error', $6::text))
       on conflict (load_id) do update set status = 'failed', finished_at = now(), detail = jsonb_build_object('error', $6::text)
       where etl.loads.status <> 'succeeded'`,
      [meta.loadId, meta.pipeline, meta.source, meta.partitionStart ?? null, meta.partitionEnd ?? null, message.slice(0, 2000)],
    )
    .catch(() => undefined);
}

/** Writes quarantined records (reason + raw text) in the load's transaction. */
export async function quarantine(client: PoolClient, loadId: string, source: string, records: Array<{ ref: string; reason: string; raw: string }>): Promise<void> {
  if (records.length === 0) return;
  await client.query(
    `insert into etl.quarantine (load_id, source, record_ref, reason, raw)
     select $1, $2, r.ref, r.reason, r.raw from unnest($3::text[], $4::text[], $5::text[]) as r(ref, reason, raw)
     on conflict (load_id, record_ref) do nothing`,
    [loadId, source, records.map((r) => r.ref), records.map((r) => r.reason), records.map((r) => r.raw)],
  );
}
