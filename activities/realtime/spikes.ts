/**
 * Judges closed minutes for spikes per event type (lib/spike-detect.ts) and records alerts in
 * analytics.realtime_alerts, all in one analytics transaction: a minute is marked evaluated together
 * with the alerts it raised, and (event type, first minute) is unique, so judging again never
 * duplicates an alert.
 */
import type { Pool } from 'pg';
import { EVENT_NAMES } from '../../contract/layout';
import { episodeAction, judgeInSeries, type ExistingAlert, type SpikeSettings } from '../../lib/spike-detect';
import { inTransaction } from '../common/transaction';

export interface RealtimeSettings extends SpikeSettings {
  /** Minutes after its end that a minute waits for late events before it is judged. */
  latenessMinutes: number;
}

const MINUTE = 60_000;
/** Closed minutes judged per pass; the rest wait for the next pass. */
const MAX_JUDGED_PER_PASS = 500;

export interface SpikeEvaluation { evaluated: number; raised: number; extended: number }

/**
 * A minute is closed once a stream's event-time watermark (the minimum over its topic's partitions
 * of the latest visible minute, migration 051) is `latenessMinutes` past its end, or, for a live
 * stream, once the wall clock is. Replays of old data close by event time only. The watermark counts
 * for a day ahead at most: a stream in another era (a replay of last year, a test's far-future
 * stream) is not this stream moving on.
 */
const PENDING_SQL = `with w as (select topic, min(max_minute) as wm from realtime_visible where max_minute is not null group by topic)
  select p.minute from realtime_minute p
  where p.evaluated_at is null and (
    exists (select 1 from w where w.wm >= p.minute + make_interval(mins => 1 + $1) and w.wm < p.minute + interval '1 day')
    or (p.minute > now() - interval '1 hour' and p.minute + make_interval(mins => 1 + $1) <= now()))
  order by p.minute limit ${MAX_JUDGED_PER_PASS}`;

export async function evaluateSpikes(analytics: Pool, s: RealtimeSettings): Promise<SpikeEvaluation> {
  return inTransaction(analytics, async (c) => {
    await c.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', ['realtime_spikes']);
    const pending = (await c.query<{ minute: Date }>(PENDING_SQL, [s.latenessMinutes])).rows.map((r) => r.minute.getTime());
    if (pending.length === 0) {
      return { evaluated: 0, raised: 0, extended: 0 };
    }
    const needed = new Set<number>();
    for (const m of pending) for (let k = 0; k <= s.windowMinutes; k++) needed.add(m - k * MINUTE);
    const window = [...needed].map((m) => new Date(m));
    const alive = (await c.query<{ minute: Date }>('select minute from realtime_minute where minute = any($1::timestamptz[]) order by minute', [window]))
      .rows.map((r) => r.minute.getTime());
    const counts = new Map<string, Map<number, number>>(EVENT_NAMES.map((n) => [n, new Map()]));
    for (const r of (await c.query<{ minute: Date; event_name: string; events: number }>(
      'select minute, event_name, events from realtime_minute_events where minute = any($1::timestamptz[])', [window])).rows) {
      counts.get(r.event_name)?.set(r.minute.getTime(), r.events);
    }
    const first = new Date((pending[0] as number) - MINUTE);
    const last = new Date(pending[pending.length - 1] as number);
    const existing = new Map<string, ExistingAlert[]>(EVENT_NAMES.map((n) => [n, []]));
    for (const a of (await c.query<{ event_name: string; minute: Date; last_minute: Date; peak: number }>(
      'select event_name, minute, last_minute, peak from realtime_alerts where last_minute >= $1 and minute <= $2', [first, last])).rows) {
      existing.get(a.event_name)?.push({ start: a.minute.getTime(), last: a.last_minute.getTime(), peak: a.peak });
    }

    let raised = 0;
    let extended = 0;
    for (const m of pending) {
      for (const name of EVENT_NAMES) {
        const v = judgeInSeries({ alive, counts: counts.get(name) ?? new Map() }, m, s);
        if (!v.spike) continue;
        const alerts = existing.get(name) ?? [];
        const action = episodeAction(alerts, m, v);
        if (action.kind === 'raise') {
          const e = action.episode;
          const res = await c.query(
            `insert into realtime_alerts (alert_id, event_name, minute, last_minute, observed, expected, score, peak)
             values ($1, $2, $3, $3, $4, $5, $6, $4) on conflict do nothing`,
            [`${name}/${new Date(e.start).toISOString()}`, name, new Date(e.start), e.observed, e.expected.toFixed(2), Math.min(e.score, 1e9).toFixed(2)]);
          raised += res.rowCount ?? 0;
          alerts.push({ start: e.start, last: e.last, peak: e.peak });
        } else if (action.kind === 'covered') {
          // PurchaseVerdict again after its counts changed (late events): the row shows the latest figures.
          await c.query(
            `update realtime_alerts set peak = greatest(peak, $3),
               observed = case when minute = $4 then $3 else observed end, expected = case when minute = $4 then $5 else expected end,
               score = case when minute = $4 then $6 else score end
             where event_name = $1 and minute = $2`,
            [name, new Date(action.start), v.observed, new Date(m), v.expected.toFixed(2), Math.min(v.score, 1e9).toFixed(2)]);
        } else {
          await c.query('update realtime_alerts set last_minute = $3, peak = $4 where event_name = $1 and minute = $2',
            [name, new Date(action.start), new Date(action.last), action.peak]);
          const a = alerts.find((x) => x.start === action.start);
          if (a) Object.assign(a, { last: action.last, peak: action.peak });
          extended++;
        }
      }
    }
    await c.query('update realtime_minute set evaluated_at = now() where minute = any($1::timestamptz[])', [pending.map((m) => new Date(m))]);
    return { evaluated: pending.length, raised, extended };
  });
}
