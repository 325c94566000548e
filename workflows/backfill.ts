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
  ApplicationFailure, CancellationScope, continueAsNew, defineQuery, executeChild, isCancellation, ParentClosePolicy, deprecatePatch, patched, proxyActivities, setHandler,
  sleep, upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import type { BackfillActivities } from '../activities/common/backfills';
import { invalidBackfill, invalidRunSizes, lazyPlan, SERIAL_PIPELINES, takeReady, type BackfillPlan, type PlanItem, type RunSizes } from './backfill-plan';
import { PIPELINES, type PipelineName } from './partitions';
import { EtlPartition, EtlPipeline } from './search-attributes';
import { causeMessage } from './helpers';

/** from < to, ISO 8601; pipelines known and distinct; concurrency 1..100 (default 4). */
export interface BackfillInput {
  pipelines: PipelineName[];
  from: string;
  to: string;
  concurrency?: number;
  /**
   * Partitions per child run, per pipeline (backfill-plan.ts RunSizes; `etl backfill` passes
   * DEFAULT_RUN_SIZES). Absent: every partition is its own run, as before coalescing.
   */
  runSizes?: RunSizes;
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
  /**
   * The failed partitions: since the bounded-failures patch, only the first FIRST_FAILURES (the
   * rest are counted in failedCount and listed in etl.backfill_failures); before it, all of them.
   */
  failed: Array<FailedPartition & { index: number }>;
  /** Failures in all (absent in runs from before the patch: failed.length). */
  failedCount?: number;
  /** Failed plan indices that a later item may still depend on (the rest are only counted). */
  recentFailed?: number[];
  continuedAsNew: number;
  /** Base partitions of completed and of failed runs (absent before coalescing: one per run). */
  partitionsCompleted?: number;
  partitionsFailed?: number;
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
  /**
   * The same in base partitions (a coalesced run covers several; its id `<pipeline>/<start>..<end>`
   * names them): what the schedule's grain would have run.
   */
  partitions?: { total: number; completed: number; failed: number };
}

export interface BackfillOutput extends BackfillProgress { pipelines: PipelineName[]; from: string; to: string }

export const progressQuery = defineQuery<BackfillProgress>('progress');

// Deprecated patches (docs/orchestration.md, "Patch lifecycle"): no run from before them is left,
// so their old branches are gone; the calls stay until no run that recorded them is left either.
const WAIT_FOR_RUNNING_PATCH = 'backfill-waits-for-running-partition';
const SERIAL_TRANSFORM_PATCH = 'backfill-serial-transform';
/** Runs from before it carried every failure across continue-as-new (past 2 MB at about 13k). */
const BOUNDED_FAILURES_PATCH = 'backfill-bounded-failures';
/** Failures carried with their message, shown by the progress query and the final error. */
export const FIRST_FAILURES = 50;

const { recordBackfillFailures } = proxyActivities<BackfillActivities>({ startToCloseTimeout: '1 minute', retry: { initialInterval: '2 seconds', maximumInterval: '1 minute' } });

/**
 * The lowest plan index an item at or after `next` depends on: failures below it no longer matter.
 * Deps only grow along the plan (a transform hour depends on its own hour's ingestion), so the first
 * item at or after `next` that has deps decides; with no transform in the plan there are none.
 */
export function dependencyHorizon(plan: BackfillPlan, next: number, pipelines: readonly PipelineName[]): number {
  if (!pipelines.includes('transform')) return next;
  for (let i = next; i < plan.length; i++) {
    const deps = plan.at(i)?.deps ?? [];
    if (deps.length > 0) return Math.min(next, ...deps);
  }
  return next;
}

export async function backfillWorkflow(input: BackfillInput): Promise<BackfillOutput> {
  const invalid = invalidBackfill(input) ?? invalidRunSizes(input.runSizes, input.pipelines);
  if (invalid) throw ApplicationFailure.nonRetryable(invalid, 'InvalidBackfillInput');
  const plan = lazyPlan(input.pipelines, input.from, input.to, input.runSizes);
  const state: BackfillState = input.state ?? { next: 0, completed: 0, skipped: 0, failed: [], continuedAsNew: 0 };
  const concurrency = input.concurrency ?? 4;
  const budget = Math.max(1, input.maxChildrenPerRun ?? 250);
  const running = new Map<number, Promise<void>>();
  const failedSet = new Set([...state.failed.map((f) => f.index), ...(state.recentFailed ?? [])]);
  const bounded = patched(BOUNDED_FAILURES_PATCH);
  let failedCount = state.failedCount ?? state.failed.length;
  /** This run's failures not yet written to etl.backfill_failures. */
  const unrecorded: FailedPartition[] = [];
  let current: string | undefined;

  const progress = (): BackfillProgress => ({
    total: plan.length,
    completed: state.completed,
    failed: failedCount,
    skipped: state.skipped,
    running: running.size,
    pending: plan.length - state.completed - failedCount - state.skipped - running.size,
    runningIds: [...running.keys()].map((i) => plan.at(i)?.workflowId ?? String(i)),
    current,
    continuedAsNew: state.continuedAsNew,
    failedPartitions: state.failed.slice(0, 50).map(({ workflowId, error }) => ({ workflowId, error })),
    partitions: { total: plan.partitions ?? plan.length, completed: state.partitionsCompleted ?? state.completed, failed: state.partitionsFailed ?? failedCount },
  });
  setHandler(progressQuery, progress);
  upsertSearchAttributes([{ key: EtlPipeline, value: 'backfill' }, { key: EtlPartition, value: `${input.from}/${input.to}` }]);

  const covered = (index: number) => plan.at(index)?.partitions ?? 1;
  const fail = (index: number, error: string) => {
    failedSet.add(index);
    failedCount++;
    state.partitionsFailed = (state.partitionsFailed ?? failedCount - 1) + covered(index);
    const workflowId = plan.at(index)?.workflowId ?? String(index);
    if (bounded) {
      unrecorded.push({ workflowId, error: error.slice(0, 1000) });
      if (state.failed.length < FIRST_FAILURES) state.failed.push({ index, workflowId, error: error.slice(0, 500) });
      return;
    }
    // Runs from before the patch: every failed id carried, the message trimmed once there are many.
    state.failed.push({ index, workflowId, error: error.slice(0, state.failed.length < 100 ? 500 : 80) });
  };
  /** Writes this run's failures to etl.backfill_failures, so the carried state needs only counts. */
  const recordFailures = async () => {
    if (unrecorded.length === 0) return;
    const batch = unrecorded.slice();
    await recordBackfillFailures({ backfillId: workflowInfo().workflowId, runId: workflowInfo().firstExecutionRunId, failures: batch });
    unrecorded.splice(0, batch.length); // only once written: a cancelled write leaves them for the next

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
          state.partitionsCompleted = (state.partitionsCompleted ?? state.completed - 1) + covered(index);
          return;
        } catch (err) {
          if (isCancellation(err)) throw err;
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) return fail(index, causeMessage(err));
          // Another run has this partition (a schedule, a manual run). Wait until it is done, then run
          // it here anyway: the loads are idempotent, so this run's outcome is the partition's, and a
          // transform hour never starts before the ingestion it reads has finished.
          deprecatePatch(WAIT_FOR_RUNNING_PATCH);
          await sleep((input.alreadyRunningPollSeconds ?? 30) * 1000);
        }
      }
    } finally {
      running.delete(index);
    }
  };

  deprecatePatch(SERIAL_TRANSFORM_PATCH);
  const serial = SERIAL_PIPELINES;
  let started = 0;
  try {
    for (;;) {
      const mayStart = started < budget && !workflowInfo().continueAsNewSuggested;
      const step = takeReady(plan, state.next, new Set(running.keys()), failedSet, mayStart ? Math.min(concurrency - running.size, budget - started) : 0, serial);
      for (const b of step.blocked) {
        const dep = plan.at(b)?.deps.find((d) => failedSet.has(d));
        fail(b, `not run: ${plan.at(dep ?? -1)?.workflowId ?? 'an ingestion partition it reads'} failed; re-run this backfill once that is fixed`);
      }
      for (const i of step.start) {
        const item = plan.at(i);
        if (!item) continue;
        current = item.workflowId;
        running.set(i, runChild(i, item));
        started++;
      }
      state.next = step.next;
      // Written in batches, so one activity's payload stays small however many fail at once.
      if (bounded && unrecorded.length >= 200) await recordFailures();
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
  } catch (err) {
    // Cancelled: let every child finish cancelling, so none outlives the backfill, then end cancelled.
    if (isCancellation(err)) {
      await Promise.allSettled(running.values());
      if (bounded) await CancellationScope.nonCancellable(recordFailures);
    }
    throw err;
  }

  // Not cancellable: a cancel arriving now must not lose the failures being written.
  if (bounded) await CancellationScope.nonCancellable(recordFailures);
  if (state.next < plan.length) {
    const carried: BackfillState = bounded
      ? { ...state, failedCount, recentFailed: [...failedSet].filter((i) => i >= dependencyHorizon(plan, state.next, input.pipelines)).sort((a, b) => a - b) }
      : state;
    await continueAsNew<typeof backfillWorkflow>({ ...input, state: { ...carried, continuedAsNew: state.continuedAsNew + 1 } });
  }
  const out: BackfillOutput = { pipelines: input.pipelines, from: input.from, to: input.to, ...progress() };
  if (failedCount > 0) {
    const names = state.failed.slice(0, 10).map((f) => f.workflowId).join(', ');
    const all = bounded ? ` (all of them: etl backfill status '${workflowInfo().workflowId}', table etl.backfill_failures)` : '';
    throw ApplicationFailure.create({
      message: `${failedCount} of ${plan.length} partitions failed: ${names}${failedCount > 10 ? ', …' : ''}${all}. Fix the cause and run the same backfill again; loaded partitions change nothing`,
      type: 'BackfillPartitionsFailed',
      nonRetryable: true,
      details: [out],
    });
  }
  return out;
}
