/**
 * Recomputes the per-minute metrics of every dirty minute, in full, from staging.events, and
 * replaces them in analytics; then clears exactly the dirty marks it read. The read, the write and
 * the clear are three steps over two databases: a crash between them leaves the marks, and the next
 * refresh recomputes the same minutes from a newer snapshot, which gives the same rows a crash-free
 * run would have. A session advisory lock keeps two refreshes (a retry and its zombie) from writing
 * an older snapshot over a newer one. See docs/realtime.md.
 */
import type { Pool, PoolClient } from 'pg';
import { copyRows } from '../../lib/bulk';
import { pseudonym } from '../../lib/pseudonym';
import { inTransaction } from '../common/transaction';

/** Minutes per pass: bounds one pass after a long outage; the rest stay dirty for the next. */
export const MAX_MINUTES_PER_PASS = 240;

interface DirtyRow { minute: Date; load_id: string; topic: string; partition: number; last_offset: string }
interface MinuteRow { minute: Date; events: number; active_users: number; orders: number }
interface TypeRow { minute: Date; event_name: string; events: number }
interface SessionRow { minute: Date; session_id: string; viewed: boolean; ordered: boolean }

export interface RefreshResult { minutes: number; loads: number; dirtyLeft: boolean }

// Each query walks the events of the listed minutes once through the ts index.
const IN_MINUTES = `from unnest($1::timestamptz[]) as m(minute)
  join staging.events e on e.ts >= m.minute and e.ts < m.minute + interval '1 minute'`;

export async function refreshDirtyMinutes(staging: Pool, analytics: Pool, pseudonymKey: string, onProgress: () => void = () => undefined): Promise<RefreshResult> {
  const client = await staging.connect();
  try {
    await client.query('select pg_advisory_lock(hashtextextended($1, 0))', ['etl.realtime_refresh']);
    try {
      return await refreshLocked(client, analytics, pseudonymKey, onProgress);
    } finally {
      await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', ['etl.realtime_refresh']);
    }
  } finally {
    client.release();
  }
}

async function refreshLocked(client: PoolClient, analytics: Pool, key: string, onProgress: () => void): Promise<RefreshResult> {
  // One snapshot for the marks and the events: a load committing after it is unseen by both, so its
  // marks survive this pass's clear.
  await client.query('begin isolation level repeatable read read only');
  let dirty: DirtyRow[];
  let minutes: Date[];
  let perMinute: MinuteRow[];
  let perType: TypeRow[];
  let sessions: SessionRow[];
  try {
    dirty = (await client.query<DirtyRow>('select minute, load_id, topic, partition, last_offset::text from etl.realtime_dirty')).rows;
    const all = [...new Set(dirty.map((d) => d.minute.getTime()))].sort((a, b) => a - b);
    minutes = all.slice(0, MAX_MINUTES_PER_PASS).map((m) => new Date(m));
    if (minutes.length === 0) {
      await client.query('commit');
      return { minutes: 0, loads: 0, dirtyLeft: false };
    }
    const p = [minutes];
    // One pass over the minute's events for both the per-type counts and the per-minute row.
    const grouped = (await client.query<TypeRow & { users: number; whole: boolean }>(`select m.minute, e.event_name, count(*)::int as events,
      count(distinct e.user_id)::int as users, grouping(e.event_name) = 1 as whole ${IN_MINUTES} group by grouping sets ((m.minute, e.event_name), (m.minute))`, p)).rows;
    perType = grouped.filter((r) => !r.whole);
    const orders = new Map(perType.filter((r) => r.event_name === 'order').map((r) => [r.minute.getTime(), r.events]));
    perMinute = grouped.filter((r) => r.whole).map((r) => ({ minute: r.minute, events: r.events, active_users: r.users, orders: orders.get(r.minute.getTime()) ?? 0 }));
    sessions = (await client.query<SessionRow>(`select m.minute, e.session_id, bool_or(e.event_name = 'view') as viewed, bool_or(e.event_name = 'order') as ordered
      ${IN_MINUTES} where e.event_name in ('view', 'order') group by 1, 2`, p)).rows;
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
  onProgress();

  const chosen = new Set(minutes.map((m) => m.getTime()));
  const done = dirty.filter((d) => chosen.has(d.minute.getTime()));
  // A load is visible once all of its minutes are: loads with marks left over do not move the watermark.
  const partial = new Set(dirty.filter((d) => !chosen.has(d.minute.getTime())).map((d) => d.load_id));
  const visible = new Map<string, Visible>();
  for (const d of done) {
    if (partial.has(d.load_id)) continue;
    const k = `${d.topic}\u0000${d.partition}`;
    const next = BigInt(d.last_offset) + 1n;
    const cur = visible.get(k) ?? { topic: d.topic, partition: d.partition, next, maxMinute: d.minute };
    if (cur.next < next) cur.next = next;
    if (cur.maxMinute < d.minute) cur.maxMinute = d.minute;
    visible.set(k, cur);
  }
  await writeMinutes(analytics, minutes, perMinute, perType, sessions.map((s) => ({ ...s, session_id: pseudonym(s.session_id, key) })), [...visible.values()]);
  onProgress();

  await client.query(
    `delete from etl.realtime_dirty d using unnest($1::timestamptz[], $2::text[]) as x(minute, load_id)
     where d.minute = x.minute and d.load_id = x.load_id`,
    [done.map((d) => d.minute), done.map((d) => d.load_id)],
  );
  return { minutes: minutes.length, loads: new Set(done.map((d) => d.load_id)).size, dirtyLeft: done.length < dirty.length };
}

type Visible = { topic: string; partition: number; next: bigint; maxMinute: Date };

async function writeMinutes(analytics: Pool, minutes: Date[], perMinute: MinuteRow[], perType: TypeRow[], sessions: SessionRow[], visible: Visible[]): Promise<void> {
  const flags = new Map<number, { viewed: number; ordered: number }>();
  for (const s of sessions) {
    const f = flags.get(s.minute.getTime()) ?? { viewed: 0, ordered: 0 };
    if (s.viewed) f.viewed++;
    if (s.ordered) f.ordered++;
    flags.set(s.minute.getTime(), f);
  }
  return inTransaction(analytics, async (c) => {
    await c.query('delete from realtime_minute_events where minute = any($1::timestamptz[])', [minutes]);
    await c.query('insert into realtime_minute_events (minute, event_name, events) select * from unnest($1::timestamptz[], $2::text[], $3::int[])',
      [perType.map((r) => r.minute), perType.map((r) => r.event_name), perType.map((r) => r.events)]);
    await c.query('delete from realtime_minute_sessions where minute = any($1::timestamptz[])', [minutes]);
    await copyRows(c as PoolClient, 'realtime_minute_sessions', ['minute', 'session_key', 'viewed', 'ordered'], sessions.map((s) => [s.minute, s.session_id, s.viewed, s.ordered]));
    const f = (r: MinuteRow) => flags.get(r.minute.getTime()) ?? { viewed: 0, ordered: 0 };
    // A minute whose counts did not change keeps its spike verdict; a changed one is judged again.
    await c.query(
      `insert into realtime_minute (minute, events, active_users, orders, sessions_viewed, sessions_ordered, conversion)
       select x.minute, x.events, x.users, x.orders, x.sv, x.so, round(x.so::numeric / nullif(x.sv, 0), 4)
       from unnest($1::timestamptz[], $2::int[], $3::int[], $4::int[], $5::int[], $6::int[]) as x(minute, events, users, orders, sv, so)
       on conflict (minute) do update set events = excluded.events, active_users = excluded.active_users, orders = excluded.orders,
         sessions_viewed = excluded.sessions_viewed, sessions_ordered = excluded.sessions_ordered, conversion = excluded.conversion,
         refreshed_at = now(), evaluated_at = case when realtime_minute.events = excluded.events then realtime_minute.evaluated_at end`,
      [perMinute.map((r) => r.minute), perMinute.map((r) => r.events), perMinute.map((r) => r.active_users), perMinute.map((r) => r.orders),
        perMinute.map((r) => f(r).viewed), perMinute.map((r) => f(r).ordered)],
    );
    // A minute without events any more (rows removed from staging by hand) must not keep old numbers.
    await c.query('delete from realtime_minute where minute = any($1::timestamptz[]) and not (minute = any($2::timestamptz[]))', [minutes, perMinute.map((r) => r.minute)]);
    await c.query(
      `insert into realtime_visible (topic, partition, next_offset, max_minute) select * from unnest($1::text[], $2::int[], $3::bigint[], $4::timestamptz[])
       on conflict (topic, partition) do update set next_offset = greatest(realtime_visible.next_offset, excluded.next_offset),
         max_minute = greatest(realtime_visible.max_minute, excluded.max_minute), refreshed_at = now()`,
      [visible.map((v) => v.topic), visible.map((v) => v.partition), visible.map((v) => v.next.toString()), visible.map((v) => v.maxMinute)],
    );
  });
}
