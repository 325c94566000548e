/**
 * The schedule monitor, started every few minutes by its own schedule (schedules/specs.ts, overlap
 * SKIP): it asks the server how each of the project's schedules is doing and raises an alert when
 * starts pile up behind a running one or were dropped. The pipelines' own runs cannot do this: a
 * run stuck behind a slow source is exactly the one that would have to notice. It also hands the
 * alerts still unsent to the webhook (older than two minutes, within a day) to their delivery.
 */
import { patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { MonitorActivities } from '../activities/monitor';
import type { ScheduleFinding } from '../activities/monitor/schedules';
import { deliverLater, recordAlert, redeliverPending } from './alerting';
import { CHECK_ACTIVITY_OPTIONS } from './helpers';

export interface ScheduleMonitorInput {
  /** Schedules whose id starts with this; the project's are `etl-`. */
  idPrefix?: string;
  /** Starts buffered behind a running one that raise a 'schedule_backlog' alert; 0: none. */
  backlogThreshold?: number;
}
export interface ScheduleMonitorOutput {
  checked: number;
  findings: ScheduleFinding[];
  /** Alert ids raised by this run; a condition already alerted on is in findings but not here. */
  raised: string[];
  /** Alerts raised elsewhere and still unsent to the webhook, handed to their delivery by this run. */
  redelivered?: string[];
}

/** Runs from before it sent the alerts other code left unsent. */
export const REDELIVER_PATCH = 'monitor-redelivers-alerts';

export const DEFAULT_BACKLOG_THRESHOLD = 3;

const { checkSchedules } = proxyActivities<MonitorActivities>(CHECK_ACTIVITY_OPTIONS);

export async function scheduleMonitorWorkflow(input: ScheduleMonitorInput = {}): Promise<ScheduleMonitorOutput> {
  const { workflowId, runId } = workflowInfo();
  const { checked, findings } = await checkSchedules({ idPrefix: input.idPrefix ?? 'etl-', backlogThreshold: input.backlogThreshold ?? DEFAULT_BACKLOG_THRESHOLD });
  const raised: string[] = [];
  for (const f of findings) {
    const created = await recordAlert({ alertId: f.alertId, pipeline: f.scheduleId, kind: f.kind, message: f.message, workflowId, runId });
    if (!created) continue;
    raised.push(f.alertId);
    await deliverLater(f.alertId);
  }
  const redelivered = patched(REDELIVER_PATCH) ? await redeliverPending() : undefined;
  return { checked: checked.length, findings, raised, ...(redelivered ? { redelivered } : {}) };
}
