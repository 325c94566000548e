/**
 * Backfill: runs every partition of the chosen pipelines over [from, to) as a child workflow with
 * the partition's own id (the same id a scheduled run uses), a sliding window of `concurrency`
 * children at a time, ingestion before the transform hours that read it. After
 * `maxChildrenPerRun` children (or when the server suggests it) it lets the running ones finish
 * and continues as new, carrying its cursor and counts, so no history grows past a few thousand
 * events. Cancelling it cancels the running children and ends it as cancelled; the same id can
 * then be started again, and partitions already loaded change nothing (loads are idempotent).
 * A partition another run already has is waited for, then run here too (see runChild).
 */
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ApplicationFailure, continueAsNew, defineQuery, executeChild, isCancellation, ParentClosePolicy, patched, setHandler,
  sleep, upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import { invalidBackfill, planBackfill, SERIAL_PIPELINES, takeReady, type PlanItem } from './backfill-plan';
import { PIPELINES, type PipelineName } from './partitions';
import { EtlPartition, EtlPipeline } from './search-attributes';
import { causeMessage } from './helpers';

/** from < to, ISO 8601; pipelines known and distinct; concurrency 1..100 (default 4). */
export interface BackfillInput {
  pipelines: PipelineName[];
  from: string;
  to: string;
  concurrency?: number;
  /** Children per run before continuing as new (default 250, about 2,000 history events). */
  maxChildrenPerRun?: number;
  /** A partition already running elsewhere is retried after this many seconds (default 30) until it can be run here. */
  alreadyRunningPollSeconds?: number;
  /** Carried across continue-as-new; absent on the first run. */
  state?: BackfillState;
}

export interface FailedPartition { workflowId: string; error: string }

export interface BackfillState {
  /** Plan cursor: every item below it has finished (a run drains its children before continuing as new). */
  next: number;
  completed: number;
  /** Partitions skipped because another run had them (before the wait-for-it patch; now always 0). */
  skipped: number;
  failed: Array<FailedPartition & { index: number }>;
  continuedAsNew: number;
}

export interface BackfillProgress {
  total: number;
  completed: number;
  failed: number;
  skipped: number;
  running: number;
  pending: number;
  /** The partitions running now, and the latest one started. */
  runningIds: string[];
  current?: string;
  continuedAsNew: number;
  failedPartitions: FailedPartition[];
}

export interface BackfillOutput extends BackfillProgress { pipelines: PipelineName[]; from: string; to: string }

export const progressQuery = defineQuery<BackfillProgress>('progress');

const WAIT_FOR_RUNNING_PATCH = 'backfill-waits-for-running-partition';
const SERIAL_TRANSFORM_PATCH = 'backfill-serial-transform';

export async function backfillWorkflow(input: BackfillInput): Promise<BackfillOutput> {
  const invalid = invalidBackfill(input);
  if (invalid) throw ApplicationFailure.nonRetryable(invalid, 'InvalidBackfillInput');
  const plan = planBackfill(input.pipelines, input.from, input.to);
  const state: BackfillState = input.state ?? { next: 0, completed: 0, skipped: 0, failed: [], continuedAsNew: 0 };
  const concurrency = input.concurrency ?? 4;
  const budget = Math.max(1, input.maxChildrenPerRun ?? 250);
  const running = new Map<number, Promise<void>>();
  const failedSet = new Set(state.failed.map((f) => f.index));
  let current: string | undefined;

  const progress = (): BackfillProgress => ({
    total: plan.length,
    completed: state.completed,
    failed: state.failed.length,
    skipped: state.skipped,
    running: running.size,
    pending: plan.length - state.completed - state.failed.length - state.skipped - running.size,
    runningIds: [...running.keys()].map((i) => plan[i]?.workflowId ?? String(i)),
    current,
    continuedAsNew: state.continuedAsNew,
    failedPartitions: state.failed.slice(0, 50).map(({ workflowId, error }) => ({ workflowId, error })),
  });
  setHandler(progressQuery, progress);
  upsertSearchAttributes([{ key: EtlPipeline, value: 'backfill' }, { key: EtlPartition, value: `${input.from}/${input.to}` }]);

  const fail = (index: number, error: string) => {
    failedSet.add(index);
    // Keep every failed id; trim the message once there are many, so the carried state stays small.
    state.failed.push({ index, workflowId: plan[index]?.workflowId ?? String(index), error: error.slice(0, state.failed.length < 100 ? 500 : 80) });
  };
  const runChild = async (index: number, item: PlanItem): Promise<void> => {
    try {
      for (;;) {
        try {
          await executeChild(PIPELINES[item.pipeline].workflowType, {
            workflowId: item.workflowId,
            args: [{ partitionStart: item.partitionStart, partitionEnd: item.partitionEnd, backfill: true }],
            typedSearchAttributes: [{ key: EtlPipeline, value: item.pipeline }, { key: EtlPartition, value: item.partitionStart }],
            parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          });
          state.completed++;
          return;
        } catch (err) {
          if (isCancellation(err)) throw err;
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) return fail(index, causeMessage(err));
          // Another run has this partition (a schedule, a manual run). Wait until it is done, then run
          // it here anyway: the loads are idempotent, so this run's outcome is the partition's, and a
          // transform hour never starts before the ingestion it reads has finished.
          if (!patched(WAIT_FOR_RUNNING_PATCH)) {
            state.skipped++;
            return;
          }
          await sleep((input.alreadyRunningPollSeconds ?? 30) * 1000);
        }
      }
    } finally {
      running.delete(index);
    }
  };

  // Runs from before this change ran transform hours concurrently; replaying them must not change that.
  const serial = patched(SERIAL_TRANSFORM_PATCH) ? SERIAL_PIPELINES : new Set<PipelineName>();
  let started = 0;
  try {
    for (;;) {
      const mayStart = started < budget && !workflowInfo().continueAsNewSuggested;
      const step = takeReady(plan, state.next, new Set(running.keys()), failedSet, mayStart ? Math.min(concurrency - running.size, budget - started) : 0, serial);
      for (const b of step.blocked) {
        const dep = plan[b]?.deps.find((d) => failedSet.has(d));
        fail(b, `not run: ${plan[dep ?? -1]?.workflowId ?? 'an ingestion partition it reads'} failed; re-run this backfill once that is fixed`);
      }
      for (const i of step.start) {
        const item = plan[i];
        if (!item) continue;
        current = item.workflowId;
        running.set(i, runChild(i, item));
        started++;
      }
      state.next = step.next;
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
  } catch (err) {
    // Cancelled: let every child finish cancelling, so none outlives the backfill, then end cancelled.
    if (isCancellation(err)) await Promise.allSettled(running.values());
    throw err;
  }

  if (state.next < plan.length) {
    await continueAsNew<typeof backfillWorkflow>({ ...input, state: { ...state, continuedAsNew: state.continuedAsNew + 1 } });
  }
  const out: BackfillOutput = { pipelines: input.pipelines, from: input.from, to: input.to, ...progress() };
  if (state.failed.length > 0) {
    const names = state.failed.slice(0, 10).map((f) => f.workflowId).join(', ');
    throw ApplicationFailure.create({
      message: `${state.failed.length} of ${plan.length} partitions failed: ${names}${state.failed.length > 10 ? ', …' : ''}. Fix the cause and run the same backfill again; loaded partitions change nothing`,
      type: 'BackfillPartitionsFailed',
      nonRetryable: true,
      details: [out],
    });
  }
  return out;
}
