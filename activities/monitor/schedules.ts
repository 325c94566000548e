/**
 * What the schedule monitor alerts on, from a listing of the schedules (schedules/list.ts): pure,
 * so the rules are unit-tested without a server.
 *
 * - Backlog: with overlap BUFFER_ALL, starts that fall due while a run is going wait behind it. A
 *   buffer at or past the threshold means the pipeline is that many windows behind; one alert per
 *   blocking run (the alert id names it), however often the monitor looks.
 * - Dropped: the server keeps at most 1,000 buffered starts and drops the rest, silently: one alert
 *   per blocking run while drops go on, and one per dropped total once no run is blocking.
 */
import type { AlertKind } from '../common/alerts';

export interface ScheduleState {
  scheduleId: string;
  buffered: number;
  dropped: number;
  running: string[];
}

export interface ScheduleFinding {
  scheduleId: string;
  kind: Extract<AlertKind, 'schedule_backlog' | 'schedule_dropped'>;
  /** Stable per condition: the same backlog behind the same run, or the same dropped count, is one alert. */
  alertId: string;
  message: string;
}

export function scheduleFindings(rows: readonly ScheduleState[], backlogThreshold: number): ScheduleFinding[] {
  const out: ScheduleFinding[] = [];
  for (const r of rows) {
    if (backlogThreshold > 0 && r.buffered >= backlogThreshold) {
      const blocker = r.running[0] ?? 'no-running-run';
      out.push({
        scheduleId: r.scheduleId,
        kind: 'schedule_backlog',
        alertId: `schedule/${r.scheduleId}/backlog/${blocker}`,
        message: `${r.scheduleId}: ${r.buffered} starts wait behind ${r.running[0] ?? 'a run'} (overlap BUFFER_ALL), so the pipeline is ${r.buffered} windows behind; past 1,000 the server drops starts. Look at the running run in the Temporal UI (slow source, stuck worker); etl schedules list shows the buffer`,
      });
    }
    if (r.dropped > 0) {
      out.push({
        scheduleId: r.scheduleId,
        kind: 'schedule_dropped',
        // One per blocking run while it holds starts back (the count grows with every drop); after
        // it, one per total.
        alertId: `schedule/${r.scheduleId}/dropped/${r.running[0] ?? `total-${r.dropped}`}`,
        message: `${r.scheduleId}: the server dropped ${r.dropped} starts in all because the schedule's buffer was full: those windows never ran. Find the gap with etl runs and re-run it with etl backfill`,
      });
    }
  }
  return out;
}
