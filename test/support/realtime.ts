/**
 * Realtime test support. The per-minute tables are keyed by minute of event time and shared by
 * every run, so each run moves its events to an era of its own (a random day after 2100, shifted
 * by whole days so every event keeps its minute of the day) and tags its event ids. The expected
 * metrics are computed here from the lines sent, by a path that shares no code with the pipeline.
 */
import type { Pool } from 'pg';

const MINUTE = 60_000;
const DAY = 86_400_000;
const NAMES = ['view', 'add_to_cart', 'wishlist', 'order', 'return'];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** A random whole day in 2100..2199: no other test's events live there. */
export function randomEra(): Date {
  return new Date(Date.UTC(2100, 0, 1) + Math.floor(Math.random() * 36_000) * DAY);
}

/** Moves the date part of a ts string by `days`, leaving unparseable ones as they are (still invalid). */
export function shiftTs(ts: unknown, days: number): unknown {
  if (typeof ts !== 'string') return ts;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(ts);
  if (!m) return ts;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const base = new Date(Date.UTC(y, mo - 1, d));
  if (base.getUTCMonth() !== mo - 1 || base.getUTCDate() !== d) return ts;
  return new Date(base.getTime() + days * DAY).toISOString().slice(0, 10) + ts.slice(10);
}

/** Rewrites one events.jsonl line for a run: tagged event_id, ts moved by `days`. */
export function retagLine(line: string, tag: string, days: number): string {
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof e.event_id === 'string' && e.event_id !== '') e.event_id = `${tag}-${e.event_id}`;
  if ('ts' in e) e.ts = shiftTs(e.ts, days);
  return JSON.stringify(e);
}

export interface MinuteMetrics {
  events: number; active_users: number; orders: number; sessions_viewed: number; sessions_ordered: number;
  conversion: string | null; types: Record<string, number>; hour_viewed: number; hour_ordered: number; hour_conversion: string | null;
}

const ratio = (a: number, b: number) => (b === 0 ? null : (a / b).toFixed(4));
const present = (v: unknown) => v !== undefined && v !== null && String(v).trim() !== '';

/** The metrics per minute (ISO) of the lines, each valid event_id once (its first line). */
export function expectedMetrics(lines: readonly string[]): Map<string, MinuteMetrics> {
  const seen = new Set<string>();
  const byMinute = new Map<number, Array<Record<string, string>>>();
  for (const line of lines) {
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (!['event_id', 'event_name', 'user_id', 'session_id', 'product_id', 'ts'].every((k) => present(e[k]))) continue;
    if (!NAMES.includes(String(e.event_name)) || !ISO.test(String(e.ts)) || Number.isNaN(Date.parse(String(e.ts)))) continue;
    if (seen.has(String(e.event_id))) continue;
    seen.add(String(e.event_id));
    const minute = Math.floor(Date.parse(String(e.ts)) / MINUTE) * MINUTE;
    const list = byMinute.get(minute) ?? [];
    list.push({ name: String(e.event_name), user: String(e.user_id), session: String(e.session_id) });
    byMinute.set(minute, list);
  }
  const out = new Map<string, MinuteMetrics>();
  const sessionsIn = (list: Array<Record<string, string>>, name: string) => new Set(list.filter((x) => x.name === name).map((x) => x.session));
  for (const [minute, list] of byMinute) {
    const types: Record<string, number> = {};
    for (const x of list) types[x.name as string] = (types[x.name as string] ?? 0) + 1;
    const hourList = [...byMinute].filter(([m]) => m > minute - 60 * MINUTE && m <= minute).flatMap(([, l]) => l);
    const [v, o, hv, ho] = [sessionsIn(list, 'view').size, sessionsIn(list, 'order').size, sessionsIn(hourList, 'view').size, sessionsIn(hourList, 'order').size];
    out.set(new Date(minute).toISOString(), {
      events: list.length, active_users: new Set(list.map((x) => x.user)).size, orders: types.order ?? 0,
      sessions_viewed: v, sessions_ordered: o, conversion: ratio(o, v), types, hour_viewed: hv, hour_ordered: ho, hour_conversion: ratio(ho, hv),
    });
  }
  return out;
}

/** What analytics holds for the minutes in [from, to), in the same shape. */
export async function actualMetrics(analytics: Pool, from: Date, to: Date): Promise<Map<string, MinuteMetrics>> {
  const { rows } = await analytics.query<Omit<MinuteMetrics, 'types'> & { minute: Date }>(
    `select m.minute, m.events, m.active_users, m.orders, m.sessions_viewed, m.sessions_ordered, m.conversion::text as conversion,
            h.sessions_viewed as hour_viewed, h.sessions_ordered as hour_ordered, h.conversion::text as hour_conversion
     from realtime_minute m join realtime_rolling_hour h using (minute) where m.minute >= $1 and m.minute < $2`, [from, to]);
  const types = await analytics.query<{ minute: Date; event_name: string; events: number }>(
    'select minute, event_name, events from realtime_minute_events where minute >= $1 and minute < $2', [from, to]);
  const out = new Map<string, MinuteMetrics>();
  for (const { minute, ...r } of rows) out.set(minute.toISOString(), { ...r, types: {} });
  for (const t of types.rows) {
    const m = out.get(t.minute.toISOString());
    if (m) m.types[t.event_name] = t.events;
  }
  return out;
}

/** Re-keys a run's metrics by minute offset from its era, so two runs in two eras compare. */
export function byOffset(metrics: Map<string, MinuteMetrics>, era: Date): Map<number, MinuteMetrics> {
  return new Map([...metrics].map(([k, v]) => [(Date.parse(k) - era.getTime()) / MINUTE, v]));
}
