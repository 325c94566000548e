/** Lists the project's schedules (ids with the given prefix) with their state and next runs. */
import type { Client } from '@temporalio/client';
import { DEFAULT_ID_PREFIX } from './specs';

export interface ScheduleRow {
  scheduleId: string;
  workflowType: string;
  every: string;
  paused: boolean;
  note: string;
  nextRuns: string[];
  lastRunAt: string | null;
  lastWorkflowId: string | null;
  /** Starts waiting behind a running one (overlap BUFFER_ALL); the server keeps at most 1,000. */
  buffered: number;
  /** Starts the server dropped because the buffer was full: windows that were never run. */
  dropped: number;
  /** Workflows the schedule started that are still running (with BUFFER_ALL, at most one). */
  running: string[];
}

export async function listSchedules(client: Client, idPrefix = DEFAULT_ID_PREFIX): Promise<ScheduleRow[]> {
  const rows: ScheduleRow[] = [];
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith(idPrefix)) continue;
    const d = await client.schedule.getHandle(s.scheduleId).describe();
    const last = d.info.recentActions.at(-1);
    rows.push({
      scheduleId: s.scheduleId,
      workflowType: d.action.type === 'startWorkflow' ? d.action.workflowType : d.action.type,
      every: (d.spec.intervals ?? []).map((i) => `${Number(i.every) / 60_000}m+${Number(i.offset ?? 0) / 60_000}m`).join(' '),
      paused: d.state.paused,
      note: d.state.note ?? '',
      nextRuns: d.info.nextActionTimes.slice(0, 2).map((t) => t.toISOString()),
      lastRunAt: last?.scheduledAt.toISOString() ?? null,
      lastWorkflowId: last?.action.workflow.workflowId ?? null,
      buffered: Number(d.raw.info?.bufferSize ?? 0),
      dropped: Number(d.raw.info?.bufferDropped ?? 0),
      running: d.info.runningActions.map((a) => a.workflow.workflowId),
    });
  }
  return rows.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}
