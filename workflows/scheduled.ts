/**
 * The workflow every schedule starts. It derives the run's window from the time the run was
 * scheduled for (never the clock), so a late, retried or `temporal schedule backfill` run covers
 * exactly the window the project's own backfill would, and runs the pipeline as a child with the
 * partition's id. Failures and runs past the SLA raise alerts: the run records the alert
 * (etl.alerts) and hands the webhook to alertDeliveryWorkflow, a child it abandons, so a dead
 * webhook never holds the run open, and with it (BUFFER_ALL) every later window of the schedule.
 *
 * Same partition already running (a backfill or a manual run has it): the wrapper does not start
 * a second copy and does not wait; it completes with outcome 'already-running'. That run loads the
 * same idempotent partition, and whoever started it watches its outcome.
 */
import { defineSearchAttributeKey, SearchAttributeType, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ApplicationFailure, condition, isCancellation, log, ParentClosePolicy, patched, startChild, upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import type { AlertKind } from '../activities/common/alerts';
import { deliverInRun, deliverLater, recordAlert } from './alerting';
import { isPipelineName, partitionEndingAt, partitionWorkflowId, PIPELINES, type PartitionOutput, type PipelineName } from './partitions';
import { EtlPartition, EtlPipeline } from './search-attributes';
import { causeMessage } from './helpers';

/** Set by the Temporal server on every workflow a schedule starts (nominal time, before jitter). */
export const TemporalScheduledStartTime = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

/** A scheduled run takes its time T from the schedule; scheduledTime is for manual runs only. */
export interface ScheduledPipelineInput {
  pipeline: PipelineName;
  /** ISO time standing in for the schedule's time on a manual start; ignored when scheduled. */
  scheduledTime?: string;
  /** Minutes the schedule fires after its window closes (so late data is in): window = partitionEndingAt(T - lag). */
  lagMinutes?: number;
  /** A run still going after this many minutes raises a 'slow' alert; 0 or absent: no SLA. */
  slaMinutes?: number;
}

export interface ScheduledPipelineOutput {
  pipeline: PipelineName;
  scheduledTime: string;
  partitionStart: string;
  partitionEnd: string;
  childWorkflowId: string;
  outcome: 'completed' | 'already-running';
  slow: boolean;
  result?: PartitionOutput;
}

/** Runs before this patch waited for the webhook themselves; docs/orchestration.md has its lifecycle. */
export const ALERT_DELIVERY_CHILD_PATCH = 'alert-delivery-child';

export async function scheduledPipelineWorkflow(input: ScheduledPipelineInput): Promise<ScheduledPipelineOutput> {
  if (!input || typeof input.pipeline !== 'string' || !isPipelineName(input.pipeline)) {
    throw ApplicationFailure.nonRetryable(`scheduledPipelineWorkflow: unknown pipeline ${JSON.stringify(input?.pipeline)}; use one of ${Object.keys(PIPELINES).join(', ')}`, 'InvalidInput');
  }
  const { pipeline } = input;
  const scheduled = scheduledTimeOf(input);
  const window = partitionEndingAt(pipeline, new Date(scheduled.getTime() - (input.lagMinutes ?? 0) * 60_000));
  const childWorkflowId = partitionWorkflowId(pipeline, window.partitionStart);
  upsertSearchAttributes([{ key: EtlPipeline, value: pipeline }, { key: EtlPartition, value: window.partitionStart }]);
  const base = { pipeline, scheduledTime: scheduled.toISOString(), ...window, childWorkflowId };

  let child;
  try {
    child = await startChild(PIPELINES[pipeline].workflowType, {
      workflowId: childWorkflowId,
      args: [{ partitionStart: window.partitionStart, partitionEnd: window.partitionEnd }],
      typedSearchAttributes: [{ key: EtlPipeline, value: pipeline }, { key: EtlPartition, value: window.partitionStart }],
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    log.info('partition already running elsewhere; not starting a second copy', { childWorkflowId });
    return { ...base, outcome: 'already-running', slow: false };
  }

  let finished = false;
  const result = child.result().finally(() => { finished = true; });
  result.catch(() => undefined); // Observed below; this keeps an early rejection from being unhandled.
  let slow = false;
  let slowAlert: Promise<void> = Promise.resolve();
  const slaMs = (input.slaMinutes ?? 0) * 60_000;
  if (slaMs > 0 && !(await condition(() => finished, slaMs))) {
    slow = true;
    slowAlert = alert('slow', pipeline, window.partitionStart,
      `${childWorkflowId} (window ${window.partitionStart} .. ${window.partitionEnd}) is still running after its SLA of ${input.slaMinutes} min; check the worker and the source, and the run in the Temporal UI`);
  }
  try {
    const out = (await result) as PartitionOutput;
    await slowAlert;
    return { ...base, outcome: 'completed', slow, result: out };
  } catch (err) {
    if (isCancellation(err)) throw err;
    const why = causeMessage(err);
    await slowAlert;
    await alert('failed', pipeline, window.partitionStart,
      `${childWorkflowId} (window ${window.partitionStart} .. ${window.partitionEnd}) failed: ${why}. Fix the cause, then re-run the window: etl backfill ${pipeline} --from ${window.partitionStart} --to ${window.partitionEnd}`);
    // Fail too, so the run shows red in the Temporal UI next to its alert.
    throw ApplicationFailure.create({ message: `${childWorkflowId} failed: ${why}`, type: 'PipelineRunFailed', nonRetryable: true, cause: err instanceof Error ? err : undefined });
  }
}

function scheduledTimeOf(input: ScheduledPipelineInput): Date {
  const info = workflowInfo();
  const typed = info.typedSearchAttributes.get(TemporalScheduledStartTime);
  // Older servers send the attribute without type metadata; the untyped map still has it.
  const untyped: unknown = info.searchAttributes?.TemporalScheduledStartTime?.[0];
  const fromSchedule = typed ?? (untyped instanceof Date ? untyped : typeof untyped === 'string' ? new Date(untyped) : undefined);
  if (fromSchedule && !Number.isNaN(fromSchedule.getTime())) return fromSchedule;
  if (input.scheduledTime && !Number.isNaN(Date.parse(input.scheduledTime))) return new Date(input.scheduledTime);
  throw ApplicationFailure.nonRetryable(
    `scheduledPipelineWorkflow(${input.pipeline}): no scheduled time; it is set by a schedule (etl schedules apply), or pass scheduledTime as an ISO time for a manual run (got ${JSON.stringify(input.scheduledTime)})`,
    'InvalidInput',
  );
}

async function alert(kind: AlertKind, pipeline: string, partitionStart: string, message: string): Promise<void> {
  const { workflowId, runId } = workflowInfo();
  const input = { alertId: `${workflowId}/${runId}/${kind}`, pipeline, partitionStart, kind, message, workflowId, runId };
  await recordAlert(input);
  if (patched(ALERT_DELIVERY_CHILD_PATCH)) await deliverLater(input.alertId);
  else await deliverInRun(input.alertId);
}
