/**
 * The idempotent load: every load has an id; its rows and its record in etl.loads are written in
 * one transaction. A load already recorded as succeeded is not applied again, so a retried
 * activity or a repeated run leaves staging unchanged (dlt's load-package pattern).
 */
import type { Pool, PoolClient } from 'pg';
import type { LoadSummary } from '../../contract/pipeline';

export interface LoadMeta {
  loadId: string;
  pipeline: string;
  source: string;
  partitionStart?: string;
  partitionEnd?: string;
}

export interface LoadCounts { received: number; loaded: number; quarantined: number; duplicates: number; detail?: Record<string, unknown> }

/**
 * Runs `body` in a transaction that also records the load. If the load id already succeeded the
 * body is not run and the recorded counts are returned with skipped = true.
 */
export async function runLoad(pool: Pool, meta: LoadMeta, body: (client: PoolClient) => Promise<LoadCounts>): Promise<LoadSummary> {
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
    const counts = await body(client);
    if (counts.received !== counts.loaded + counts.quarantined + counts.duplicates) {
      throw new Error(`load ${meta.loadId} does not reconcile: received ${counts.received} != loaded ${counts.loaded} + quarantined ${counts.quarantined} + duplicates ${counts.duplicates}`);
    }
    await client.query(
      `update etl.loads set status = 'succeeded', received = $2, loaded = $3, quarantined = $4, duplicates = $5,
         finished_at = now(), detail = $6 where load_id = $1`,
      [meta.loadId, counts.received, counts.loaded, counts.quarantined, counts.duplicates, JSON.stringify(counts.detail ?? {})],
    );
    await client.query('commit');
    return { loadId: meta.loadId, source: meta.source, received: counts.received, loaded: counts.loaded, quarantined: counts.quarantined, duplicates: counts.duplicates };
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

async function recordFailure(pool: Pool, meta: LoadMeta, err: unknown): Promise<void> {
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
