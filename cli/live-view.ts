/**
 * What `etl live` shows, read from analytics.realtime_* in one go: the latest minute (or the one
 * asked for), the minutes before it by event type, the rolling-hour conversion, recent alerts.
 */
import type { Pool } from 'pg';

export interface LiveMinute {
  minute: string; events: number; active_users: number; orders: number;
  conversion: number | null; hour_conversion: number | null; by_type: Record<string, number>;
}
export interface LiveAlert { minute: string; last_minute: string; event_name: string; observed: number; expected: number; score: number; sent: string }
export interface LiveSnapshot { at: string | null; minutes: LiveMinute[]; alerts: LiveAlert[]; pending_minutes: number | null }

const num = (v: string | null) => (v === null ? null : Number(v));

/**
 * `at`: show the minutes up to this one; default the latest minute not in the future (test and
 * replay eras far ahead are left out). `minutes`: how many minutes back the table goes.
 */
export async function readLive(analytics: Pool, opts: { at?: Date; minutes?: number } = {}): Promise<LiveSnapshot> {
  const { rows: latest } = await analytics.query<{ minute: Date | null }>(
    'select max(minute) as minute from realtime_minute where minute <= coalesce($1, now())', [opts.at ?? null]);
  const at = latest[0]?.minute ?? null;
  if (!at) return { at: null, minutes: [], alerts: [], pending_minutes: null };
  const from = new Date(at.getTime() - ((opts.minutes ?? 10) - 1) * 60_000);
  const { rows } = await analytics.query<{ minute: Date; events: number; active_users: number; orders: number; conversion: string | null; by_type: Record<string, number> | null }>(
    `select m.minute, m.events, m.active_users, m.orders, m.conversion::text as conversion,
            (select jsonb_object_agg(t.event_name, t.events) from realtime_minute_events t where t.minute = m.minute) as by_type
     from realtime_minute m where m.minute between $1 and $2 order by m.minute desc`, [from, at]);
  const { rows: hour } = await analytics.query<{ conversion: string | null }>('select conversion::text as conversion from realtime_rolling_hour where minute = $1', [at]);
  const { rows: alerts } = await analytics.query<{ minute: Date; last_minute: Date; event_name: string; observed: number; expected: string; score: string; sent_at: Date | null; given_up_at: Date | null; last_error: string | null }>(
    `select minute, last_minute, event_name, observed, expected::text, score::text, sent_at, given_up_at, last_error from realtime_alerts
     where minute <= $1 order by minute desc limit 10`, [at]);
  const { rows: pending } = await analytics.query<{ n: number }>('select count(*)::int as n from realtime_minute where evaluated_at is null');
  return {
    at: at.toISOString(),
    minutes: rows.map((r, i) => ({
      minute: r.minute.toISOString(), events: r.events, active_users: r.active_users, orders: r.orders,
      conversion: num(r.conversion), hour_conversion: i === 0 ? num(hour[0]?.conversion ?? null) : null, by_type: r.by_type ?? {},
    })),
    alerts: alerts.map((a) => ({
      minute: a.minute.toISOString(), last_minute: a.last_minute.toISOString(), event_name: a.event_name, observed: a.observed,
      expected: Number(a.expected), score: Number(a.score),
      sent: a.sent_at ? `sent ${a.sent_at.toISOString()}` : a.given_up_at ? `gave up: ${a.last_error ?? ''}` : a.last_error ? `retrying: ${a.last_error}` : 'not sent',
    })),
    pending_minutes: pending[0]?.n ?? 0,
  };
}

const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
const TYPES = ['view', 'add_to_cart', 'wishlist', 'order', 'return'];

/** The terminal screen: plain lines, so it also reads well in a log. */
export function renderLive(s: LiveSnapshot): string[] {
  if (!s.at) return ['No realtime metrics yet: start the events stream (etl events start) and the realtime loop (etl live start).'];
  const now = s.minutes[0];
  const out = [
    `minute ${s.at}   active users ${now?.active_users ?? 0}   events ${now?.events ?? 0}   orders ${now?.orders ?? 0}`,
    `conversion: minute ${pct(now?.conversion ?? null)}   rolling hour ${pct(now?.hour_conversion ?? null)}`,
    '',
    ['minute (UTC)', 'users', ...TYPES, 'conv'].map((h, i) => (i === 0 ? h.padEnd(17) : h.padStart(13))).join(''),
  ];
  for (const m of s.minutes) {
    out.push([m.minute.slice(0, 16).replace('T', ' '), String(m.active_users), ...TYPES.map((t) => String(m.by_type[t] ?? 0)), pct(m.conversion)]
      .map((c, i) => (i === 0 ? c.padEnd(17) : c.padStart(13))).join(''));
  }
  out.push('', s.alerts.length === 0 ? 'No spike alerts.' : 'Recent spike alerts:');
  for (const a of s.alerts) {
    const span = a.minute === a.last_minute ? a.minute.slice(0, 16) : `${a.minute.slice(0, 16)}..${a.last_minute.slice(11, 16)}`;
    out.push(`  ${span}  ${a.event_name}: ${a.observed} vs ~${a.expected} (score ${a.score})  ${a.sent}`);
  }
  return out;
}
