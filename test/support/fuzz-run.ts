/**
 * What every source's fuzz run shares: a deadline per run (a stall is a finding, not a hang), the
 * peak RSS of this process (the one running the activities), the facts of a load as they landed
 * (etl.loads, etl.quarantine), and removing the lake objects a load wrote.
 */
import type { Pool } from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ActivityDeps } from '../../activities';
import type { Config } from '../../config';
import type { LoadFacts } from './fuzz-ledger';

/** The clients the suite drives the activities with: testEnv's in the test, the bench's own. */
export interface FuzzEnv { config: Config; deps: ActivityDeps }

export class Stalled extends Error {}

/** `work`, or a Stalled error once `ms` have passed (the work itself is left to finish or fail). */
export async function withDeadline<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stall = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Stalled(`${what} did not finish within ${ms / 1000} s`)), ms); });
  try {
    return await Promise.race([work, stall]);
  } finally {
    clearTimeout(timer);
  }
}

/** Samples this process's RSS every 100 ms; `stop` gives the peak in bytes. */
export function rssSampler(): { peak(): number; stop(): number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 100);
  timer.unref();
  return { peak: () => peak, stop: () => { clearInterval(timer); return Math.max(peak, process.memoryUsage().rss); } };
}

export const seconds = (since: number) => +((performance.now() - since) / 1000).toFixed(2);

/** etl.loads and etl.quarantine of one load; the staged half is the source's own query. */
export async function loadFacts(staging: Pool, loadId: string, staged: LoadFacts['staged'], qref: (ref: string) => string): Promise<LoadFacts> {
  const { rows: q } = await staging.query<{ record_ref: string; reason: string }>('select record_ref, reason from etl.quarantine where load_id = $1', [loadId]);
  const { rows: [rec] } = await staging.query<{ status: string; received: number; loaded: number; quarantined: number; duplicates: number }>(
    'select status, received, loaded, quarantined, duplicates from etl.loads where load_id = $1', [loadId]);
  return { staged, quarantined: q.map((r) => ({ qref: qref(r.record_ref), reason: r.reason })), recorded: rec ?? null };
}

/** Deletes the loads' bookkeeping and the lake objects their detail names (raw, quarantine). */
export async function dropLoads(staging: Pool, s3: S3Client, bucket: string, loadIds: string[]): Promise<void> {
  if (loadIds.length === 0) return;
  const { rows } = await staging.query<{ raw: string | null; q: string | null; qs: string[] | null }>(
    "select detail->>'rawKey' raw, detail->>'quarantineKey' q, detail->'quarantineKeys' qs from etl.loads where load_id = any($1)", [loadIds]);
  for (const key of rows.flatMap((r) => [r.raw, r.q, ...(r.qs ?? [])]).filter((k): k is string => !!k)) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
  }
  await staging.query('delete from etl.quarantine where load_id = any($1)', [loadIds]);
  await staging.query('delete from etl.load_pieces where load_id = any($1)', [loadIds]);
  await staging.query('delete from etl.loads where load_id = any($1)', [loadIds]);
}

/** An error's name and message; a long one keeps its start and its end, where the cause is told. */
export function errorText(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length <= 700 ? text : `${text.slice(0, 250)} … ${text.slice(-450)}`;
}

const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
/** An activity context for activities run outside a worker, without its log lines (the suite reports failures itself). */
export const activityEnv = () => new MockActivityEnvironment(undefined, { logger: quiet });
