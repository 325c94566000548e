/**
 * Quarantine, both halves: the rejected records go to etl.quarantine in the load's transaction and
 * to `quarantine/<source>/dt=YYYY-MM-DD/<safeName(loadId)>.jsonl` in the lake, one JSON line
 * `{ref, reason, record}` each (plus `encoding: 'base64'` when `record` holds bytes that are not
 * text, base64-encoded). The lake object is written before the transaction commits, so a
 * committed load always has its quarantine file; a rolled-back attempt's object is overwritten by
 * the retry (same key).
 */
import type { PoolClient } from 'pg';
import { lakeKey, safeName } from '../../lib/lake';
import { putObject } from '../../lib/s3';
import { quarantine } from './loads';
import type { Lake } from './raw';

/**
 * One rejected record: `ref` is unique within its load (e.g. `page-3:17`), `record` is as received;
 * with `encoding: 'base64'`, `record` is the base64 of bytes that are not UTF-8 text without NUL.
 */
export interface Rejected { ref: string; reason: string; record: unknown; encoding?: 'base64' }

export interface QuarantineTarget { source: string; dt: string; loadId: string }

export function quarantineKey(t: QuarantineTarget): string {
  return lakeKey('quarantine', t.source, t.dt, `${safeName(t.loadId)}.jsonl`);
}

/** Writes the lake object only. Returns its key, or null when there is nothing to write. */
export async function writeQuarantineLake(lake: Lake, t: QuarantineTarget, rejected: readonly Rejected[]): Promise<string | null> {
  if (rejected.length === 0) return null;
  const key = quarantineKey(t);
  // One Buffer per line: records of a megabyte each would make one joined string past V8's limit.
  const lines = rejected.map((r) => Buffer.from(JSON.stringify({ ref: r.ref, reason: r.reason, record: r.record, ...(r.encoding ? { encoding: r.encoding } : {}) }) + '\n'));
  await putObject(lake.s3, lake.bucket, key, Buffer.concat(lines), 'application/x-ndjson');
  return key;
}

/** Both halves; call inside runLoad's body so the rows commit with the load. */
export async function quarantineRecords(client: PoolClient, lake: Lake, t: QuarantineTarget, rejected: readonly Rejected[]): Promise<string | null> {
  if (rejected.length === 0) return null;
  const key = await writeQuarantineLake(lake, t, rejected);
  const raw = (r: Rejected) => (typeof r.record === 'string' ? r.record : JSON.stringify(r.record) ?? 'undefined');
  // etl.quarantine has no encoding column: the reason says when raw is base64.
  const reason = (r: Rejected) => (r.encoding ? `${r.reason} (raw is ${r.encoding} of the bytes received)` : r.reason);
  await quarantine(client, t.loadId, t.source, rejected.map((r) => ({ ref: r.ref, reason: reason(r), raw: raw(r) })));
  return key;
}
