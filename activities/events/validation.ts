/**
 * Validation of one Kafka event value: the dataset layout's event rules (checkEvent), plus
 * what staging.events can store. A rejected event gets one reason naming the field. Any message at
 * all gets a verdict: judging never throws, so one message cannot stop its partition.
 */
import { isUtf8 } from 'node:buffer';
import { z } from 'zod';
import type { CopyValue } from '../../lib/bulk';
import { checkEvent, type CheckedEvent } from '../../contract/records';

/** Larger values are quarantined unread; events are a few hundred bytes. */
export const MAX_EVENT_BYTES = 1 << 20;
/** Deepest nesting accepted (the message object is level 1): checkEvent's JSON.stringify recurses. */
export const MAX_EVENT_DEPTH = 32;
/** Longest id in UTF-8 bytes: event_id is a btree key, whose entries PostgreSQL caps at ~2.7 kB. */
export const MAX_ID_BYTES = 1000;
const MAX_REASON_CHARS = 500;
const NUMERIC_14_2_LIMIT = 10n ** 14n; // in cents
const ID_FIELDS = ['event_id', 'user_id', 'session_id', 'product_id', 'order_id'] as const;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// Four-digit years only: the rules read years 0000-0099 as 1900-1999, the lake's dt= needs YYYY.
const TS_MIN = Date.UTC(1000, 0, 1);
const TS_END = Date.UTC(10000, 0, 1);

export type EventVerdict = { ok: true; event: CheckedEvent } | { ok: false; field: string; reason: string };
type Issue = { field: string; reason: string };

/** What PostgreSQL and staging.events cannot hold, checked before the rules see the record. */
function storageIssue(r: Record<string, unknown>): Issue | null {
  for (const f of ID_FIELDS) {
    const v = r[f];
    if (typeof v === 'number' && !Number.isSafeInteger(v)) return { field: f, reason: `${f} ${v} is not an integer JSON numbers carry exactly (up to 2^53); send ids as strings` };
    if (v !== undefined && v !== null && typeof v !== 'string' && typeof v !== 'number') return { field: f, reason: `${f} must be a string or an integer, got ${Array.isArray(v) ? 'an array' : typeof v}` };
    if (typeof v !== 'string') continue;
    if (v.includes('\u0000')) return { field: f, reason: `${f} contains a NUL character, which PostgreSQL text cannot store` };
    if (v.search(LONE_SURROGATE) >= 0) return { field: f, reason: `${f} contains an unpaired UTF-16 surrogate, which UTF-8 cannot store` };
    const bytes = Buffer.byteLength(v);
    if (bytes > MAX_ID_BYTES) return { field: f, reason: `${f} is ${bytes} bytes long; ids are limited to ${MAX_ID_BYTES} bytes` };
  }
  if (typeof r.price === 'number' && !Number.isFinite(r.price)) return { field: 'price', reason: 'price is a number beyond the range of a double (such as 1e400)' };
  const year = typeof r.ts === 'string' ? /^\s*([+-]?\d+)[-/]/.exec(r.ts)?.[1] : undefined;
  if (year !== undefined && !/^[1-9]\d{3}$/.test(year)) return { field: 'ts', reason: `ts ${JSON.stringify(r.ts)} is out of range: the year must be 1000 to 9999` };
  return null;
}

/**
 * The rules over a parsed record: the event, or the first issue. The hot path calls it directly
 * (zod around it cost a third of the time per message); eventRecordSchema wraps the same function.
 */
function judgeRecord(record: Record<string, unknown>): { ok: true; event: CheckedEvent } | ({ ok: false } & Issue) {
  const before = storageIssue(record);
  if (before) return { ok: false, ...before };
  const checked = checkEvent(record);
  if (!checked.ok) return { ok: false, field: checked.field, reason: checked.reason };
  const e = checked.value;
  const t = e.ts.getTime();
  if (!(t >= TS_MIN && t < TS_END)) return { ok: false, field: 'ts', reason: `ts ${JSON.stringify(record.ts)} is out of range: it must fall in the years 1000 to 9999 (UTC)` };
  if (e.price !== null) {
    // numeric(14,2) rounds half away from zero, so 999999999999.995 overflows although it has 12 integer digits.
    const [int = '0', frac = ''] = e.price.split('.');
    const cents = int.length > 13 ? NUMERIC_14_2_LIMIT : BigInt(int + frac.slice(0, 2).padEnd(2, '0')) + (frac.charCodeAt(2) >= 53 ? 1n : 0n);
    if (cents >= NUMERIC_14_2_LIMIT) return { ok: false, field: 'price', reason: `price ${e.price.slice(0, 40)} rounds to more than 12 integer digits, which numeric(14,2) cannot hold` };
  }
  return { ok: true, event: e };
}

export const eventRecordSchema = z.record(z.string(), z.unknown()).transform((record, ctx): CheckedEvent => {
  const v = judgeRecord(record);
  if (v.ok) return v.event;
  ctx.addIssue({ code: 'custom', path: [v.field], message: v.reason });
  return z.NEVER;
});

/**
 * Nesting depth of a JSON value (a scalar is 0, `{}` is 1), measured with a stack of its own (no
 * call stack to overflow at any depth) and given up as `limit + 1` once it passes `limit`.
 */
export function nestingDepth(value: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    max = Math.max(max, d);
    if (max > limit) return limit + 1;
    for (const child of Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
  return max;
}

/** The parsed record's verdict. Whatever the rules throw (a stack overflow, a BigInt) is a reason too. */
export function validateEventRecord(record: Record<string, unknown>): EventVerdict {
  try {
    for (const [k, v] of Object.entries(record)) {
      if (typeof v === 'object' && v !== null && nestingDepth(v, MAX_EVENT_DEPTH - 1) >= MAX_EVENT_DEPTH) return reject(k, `${k} is nested more than ${MAX_EVENT_DEPTH} levels deep`);
    }
    const v = judgeRecord(record);
    return v.ok ? v : reject(v.field, v.reason);
  } catch (err) {
    return reject('*', `the event could not be checked: ${err instanceof Error ? `${err.name}: ${err.message}` : typeof err}`);
  }
}

/** Judges a message value exactly as received: any bytes, any size. */
export function validateEvent(value: Buffer | null): EventVerdict {
  if (value === null || value.length === 0) return reject('*', 'empty message (no value)');
  if (value.length >= MAX_EVENT_BYTES) return reject('*', `message of ${value.length} bytes exceeds the 1 MiB limit`);
  if (!isUtf8(value)) return reject('*', 'message is not valid UTF-8');
  if (value.includes(0)) return reject('*', 'message contains a NUL byte, which is not valid JSON and PostgreSQL text cannot store');
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return reject('*', 'not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return reject('*', 'not a JSON object');
  return validateEventRecord(parsed as Record<string, unknown>);
}

/** Text PostgreSQL and a person can take: at most `max` characters, NUL and unpaired surrogates escaped. */
function storable(s: string, max: number): string {
  const clipped = s.length > max ? `${s.slice(0, max - 1)}…` : s;
  return clipped.replace(/\u0000/g, '\\u0000').replace(LONE_SURROGATE, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

function reject(field: string, reason: string): EventVerdict {
  return { ok: false, field: storable(field, 100), reason: storable(reason, MAX_REASON_CHARS) };
}

/**
 * A message value as it goes to quarantine: the text when it is UTF-8 without NUL (what etl.quarantine's
 * text column can hold), otherwise base64 of the bytes. Either way the exact bytes come back.
 */
export function quarantinedValue(value: Buffer | null): { record: string; encoding?: 'base64' } {
  if (value === null) return { record: '' };
  return isUtf8(value) && !value.includes(0) ? { record: value.toString('utf8') } : { record: value.toString('base64'), encoding: 'base64' };
}

export const EVENT_STAGING_COLUMNS = ['event_id', 'event_name', 'user_id', 'session_id', 'product_id', 'order_id', 'price', 'ts', 'kafka_partition', 'kafka_offset', 'load_id'];

export function eventRow(e: CheckedEvent, partition: number, offset: string, loadId: string): CopyValue[] {
  return [e.eventId, e.eventName, e.userId, e.sessionId, e.productId, e.orderId, e.price, e.ts, partition, offset, loadId];
}
