/**
 * Applies the contribution of each committed events load to the per-minute metrics in analytics,
 * once: the events the load merged (found by its load id and its transaction's time) are added to
 * the per-type counts and to the keyed sets of users and sessions, the minutes they touched are
 * counted again from those sets, and the load is recorded in realtime_applied in the same
 * transaction; then its dirty marks are cleared in staging. A pass repeated after a crash between
 * the analytics commit and the clear skips the loads already applied. A session advisory lock keeps
 * two passes (a retry and its zombie) from running at once. See docs/realtime.md.
 *
 * Before, a pass recomputed every dirty minute in full from staging.events; at 20 000 events/s the
 * current minute holds up to 1.2M events and each pass cost more than the one before (issue 12).
 */
import type { Pool, PoolClient } from 'pg';
import { mergeRows } from '../../lib/bulk';
import { pseudonym } from '../../lib/pseudonym';
import { inTransaction } from '../common/transaction';

/** The per-minute tables, keyed by minute of event time (what a test or bench era cleans up). */
export const REALTIME_MINUTE_TABLES = ['realtime_minute', 'realtime_minute_events', 'realtime_minute_sessions', 'realtime_minute_users', 'realtime_alerts'] as const;

/** Loads per pass: bounds one pass after a long outage; the rest stay marked for the next. */
export const MAX_LOADS_PER_PASS = 100;

interface LoadMark { load_id: string; topic: string; partition: number; last_offset: string; max_minute: Date }
interface TypeRow { minute: Date; event_name: string; events: number }
interface UserRow { minute: Date; user_id: string }
interface SessionRow { minute: Date; session_id: string; viewed: boolean; ordered: boolean }
interface Contribution { types: TypeRow[]; users: UserRow[]; sessions: SessionRow[] }

export interface RefreshResult { minutes: number; loads: number; dirtyLeft: boolean }

/** For the crash tests only: stop the pass with an error after this step, as a crash there would. */
export interface RefreshFault { failAfter?: 'read' | 'apply' }

// The events a load merged: its rows carry its load id, and ingested_at defaults to the load
// transaction's now(), which is also its marks' marked_at (the hook runs in that transaction). The
// equality walks the ingested_at index to exactly the load's rows, never the whole minute.
const LOAD_EVENTS = `with ev as (
  select date_bin('1 minute', e.ts, timestamptz 'epoch') as minute, e.event_name, e.user_id, e.session_id
  from (select distinct load_id, marked_at from etl.realtime_dirty where load_id = any($1::text[])) d
  join staging.events e on e.ingested_at = d.marked_at and e.load_id = d.load_id)`;

export async function refreshDirtyMinutes(staging: Pool, analytics: Pool, pseudonymKey: string, onProgress: () => void = () => undefined, fault: RefreshFault = {}): Promise<RefreshResult> {
  const client = await staging.connect();
  try {
    await client.query('select pg_advisory_lock(hashtextextended($1, 0))', ['etl.realtime_refresh']);
    try {
      return await refreshLocked(client, analytics, pseudonymKey, onProgress, fault);
    } finally {
      await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', ['etl.realtime_refresh']);
    }
  } finally {
    client.release();
  }
}

async function refreshLocked(client: PoolClient, analytics: Pool, key: string, onProgress: () => void, fault: RefreshFault): Promise<RefreshResult> {
  // One snapshot for the marks and the events: a load committing after it is unseen by both, so its
  // marks survive this pass's clear.
  await client.query('begin isolation level repeatable read read only');
  let marks: LoadMark[];
  let chosen: LoadMark[];
  let fresh: string[];
  let contribution: Contribution = { types: [], users: [], sessions: [] };
  try {
    marks = (await client.query<LoadMark>(`select load_id, min(topic) as topic, min(partition) as partition, max(last_offset)::text as last_offset,
      max(minute) as max_minute from etl.realtime_dirty group by load_id order by min(marked_at), load_id`)).rows;
    chosen = marks.slice(0, MAX_LOADS_PER_PASS);
    if (chosen.length === 0) {
      await client.query('commit');
      // No mark left: every applied load was cleared (see the pruning in applyToAnalytics).
      await analytics.query('delete from realtime_applied');
      return { minutes: 0, loads: 0, dirtyLeft: false };
    }
    const done = new Set((await analytics.query<{ load_id: string }>('select load_id from realtime_applied where load_id = any($1::text[])', [chosen.map((l) => l.load_id)])).rows.map((r) => r.load_id));
    fresh = chosen.map((l) => l.load_id).filter((id) => !done.has(id));
    if (fresh.length > 0) contribution = await readContribution(client, fresh);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  }
  onProgress();
  if (fault.failAfter === 'read') throw new Error('realtime refresh: simulated crash after the read');

  // The events loads commit without waiting for their WAL flush (activities/events/load.ts). A
  // transaction that commits synchronously flushes the WAL past every commit this pass read, so no
  // database crash can take back a load that analytics is about to count.
  if (fresh.length > 0) await client.query('begin; set local synchronous_commit = on; select pg_current_xact_id(); commit');

  await applyToAnalytics(analytics, marks, chosen, fresh, contribution, key);
  onProgress();
  if (fault.failAfter === 'apply') throw new Error('realtime refresh: simulated crash after the analytics commit');

  await client.query('delete from etl.realtime_dirty where load_id = any($1::text[])', [chosen.map((l) => l.load_id)]);
  const minutes = new Set(contribution.types.map((t) => t.minute.getTime())).size;
  return { minutes, loads: chosen.length, dirtyLeft: marks.length > chosen.length };
}

async function readContribution(client: PoolClient, loads: string[]): Promise<Contribution> {
  const p = [loads];
  const types = (await client.query<TypeRow>(`${LOAD_EVENTS} select minute, event_name, count(*)::int as events from ev group by 1, 2`, p)).rows;
  const users = (await client.query<UserRow>(`${LOAD_EVENTS} select distinct minute, user_id from ev`, p)).rows;
  const sessions = (await client.query<SessionRow>(`${LOAD_EVENTS} select minute, session_id, bool_or(event_name = 'view') as viewed, bool_or(event_name = 'order') as ordered
    from ev where event_name in ('view', 'order') group by 1, 2`, p)).rows;
  return { types, users, sessions };
}

type Visible = { topic: string; partition: number; next: bigint; maxMinute: Date };

/**
 * Per partition, the offset below which every event is applied: the chosen loads' last offsets,
 * but not past a load of the same partition left for the next pass.
 */
function visibility(marks: LoadMark[], chosen: LoadMark[]): Visible[] {
  const k = (l: LoadMark) => `${l.topic}\u0000${l.partition}`;
  const picked = new Set(chosen.map((l) => l.load_id));
  const leftBelow = new Map<string, bigint>();
  for (const l of marks) {
    if (picked.has(l.load_id)) continue;
    const o = BigInt(l.last_offset);
    const cur = leftBelow.get(k(l));
    if (cur === undefined || o < cur) leftBelow.set(k(l), o);
  }
  const out = new Map<string, Visible>();
  for (const l of chosen) {
    const last = BigInt(l.last_offset);
    const limit = leftBelow.get(k(l));
    if (limit !== undefined && last > limit) continue;
    const cur = out.get(k(l)) ?? { topic: l.topic, partition: l.partition, next: last + 1n, maxMinute: l.max_minute };
    if (cur.next < last + 1n) cur.next = last + 1n;
    if (cur.maxMinute < l.max_minute) cur.maxMinute = l.max_minute;
    out.set(k(l), cur);
  }
  return [...out.values()];
}

async function applyToAnalytics(analytics: Pool, marks: LoadMark[], chosen: LoadMark[], fresh: string[], c: Contribution, key: string): Promise<void> {
  const visible = visibility(marks, chosen);
  const minutes = [...new Set(c.types.map((t) => t.minute.getTime()))].map((m) => new Date(m));
  return inTransaction(analytics, async (a) => {
    // A load with no mark left in staging was applied and cleared: no pass can read it again.
    await a.query('delete from realtime_applied where not (load_id = any($1::text[]))', [marks.map((l) => l.load_id)]);
    if (fresh.length > 0) {
      await a.query(
        `insert into realtime_minute_events (minute, event_name, events) select * from unnest($1::timestamptz[], $2::text[], $3::int[])
         on conflict (minute, event_name) do update set events = realtime_minute_events.events + excluded.events`,
        [c.types.map((r) => r.minute), c.types.map((r) => r.event_name), c.types.map((r) => r.events)]);
      await mergeRows(a as PoolClient, 'realtime_minute_users', ['minute', 'user_key'], c.users.map((u) => [u.minute, pseudonym(u.user_id, key)]));
      await mergeRows(a as PoolClient, 'realtime_minute_sessions', ['minute', 'session_key', 'viewed', 'ordered'],
        c.sessions.map((s) => [s.minute, pseudonym(s.session_id, key), s.viewed, s.ordered]),
        { key: ['minute', 'session_key'], set: 'viewed = realtime_minute_sessions.viewed or excluded.viewed, ordered = realtime_minute_sessions.ordered or excluded.ordered' });
      await a.query('insert into realtime_applied (load_id) select unnest($1::text[])', [fresh]);
      // The touched minutes' rows, counted from the per-type counts and the keyed sets. A minute
      // whose counts did not change keeps its spike verdict; a changed one is judged again.
      await a.query(
        `insert into realtime_minute (minute, events, active_users, orders, sessions_viewed, sessions_ordered, conversion)
         select m.minute, t.events, u.users, t.orders, s.sv, s.so, round(s.so::numeric / nullif(s.sv, 0), 4)
         from unnest($1::timestamptz[]) as m(minute)
         cross join lateral (select coalesce(sum(events), 0)::int as events, coalesce(sum(events) filter (where event_name = 'order'), 0)::int as orders
                             from realtime_minute_events where minute = m.minute) t
         cross join lateral (select count(*)::int as users from realtime_minute_users where minute = m.minute) u
         cross join lateral (select count(*) filter (where viewed)::int as sv, count(*) filter (where ordered)::int as so
                             from realtime_minute_sessions where minute = m.minute) s
         on conflict (minute) do update set events = excluded.events, active_users = excluded.active_users, orders = excluded.orders,
           sessions_viewed = excluded.sessions_viewed, sessions_ordered = excluded.sessions_ordered, conversion = excluded.conversion,
           refreshed_at = now(), evaluated_at = case when realtime_minute.events = excluded.events then realtime_minute.evaluated_at end`,
        [minutes]);
    }
    await a.query(
      `insert into realtime_visible (topic, partition, next_offset, max_minute) select * from unnest($1::text[], $2::int[], $3::bigint[], $4::timestamptz[])
       on conflict (topic, partition) do update set next_offset = greatest(realtime_visible.next_offset, excluded.next_offset),
         max_minute = greatest(realtime_visible.max_minute, excluded.max_minute), refreshed_at = now()`,
      [visible.map((v) => v.topic), visible.map((v) => v.partition), visible.map((v) => v.next.toString()), visible.map((v) => v.maxMinute)],
    );
  });
}
