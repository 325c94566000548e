/**
 * Validation of one Kafka event value: zod over the dataset layout's event rules (checkEvent), plus
 * what staging.events can store. A rejected event gets one reason naming the field.
 */
import { z } from 'zod';
import type { CopyValue } from '../lib/bulk';
import { checkEvent, type CheckedEvent } from '../shop/dataset/records';

const NUMERIC_14_2_LIMIT = 10n ** 12n;

export const eventRecordSchema = z.record(z.string(), z.unknown()).transform((record, ctx): CheckedEvent => {
  const issue = (path: string, message: string) => {
    ctx.addIssue({ code: 'custom', path: [path], message });
    return z.NEVER;
  };
  const checked = checkEvent(record);
  if (!checked.ok) return issue(checked.field, checked.reason);
  const e = checked.value;
  if (e.price !== null && BigInt(e.price.split('.')[0] ?? '0') >= NUMERIC_14_2_LIMIT) return issue('price', `price ${e.price} has more than 12 integer digits`);
  for (const v of [e.eventId, e.userId, e.sessionId, e.productId, e.orderId]) {
    if (v?.includes('\u0000')) return issue('*', 'contains a NUL character, which PostgreSQL text cannot store');
  }
  return e;
});

export type JudgedEvent = { ok: true; event: CheckedEvent } | { ok: false; reason: string };

/** Judges a message value exactly as received. */
export function judgeEvent(value: Buffer | null): JudgedEvent {
  if (value === null || value.length === 0) return { ok: false, reason: 'empty message (no value)' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not valid JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, reason: 'not a JSON object' };
  const r = eventRecordSchema.safeParse(parsed);
  return r.success ? { ok: true, event: r.data } : { ok: false, reason: r.error.issues[0]?.message ?? 'invalid event' };
}

export const EVENT_STAGING_COLUMNS = ['event_id', 'event_name', 'user_id', 'session_id', 'product_id', 'order_id', 'price', 'ts', 'kafka_partition', 'kafka_offset', 'load_id'];

export function eventRow(e: CheckedEvent, partition: number, offset: string, loadId: string): CopyValue[] {
  return [e.eventId, e.eventName, e.userId, e.sessionId, e.productId, e.orderId, e.price, e.ts, partition, offset, loadId];
}
