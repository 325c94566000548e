/**
 * The hourly transform: dedup -> clean -> enrich -> aggregate -> load analytics -> curated lake.
 * Id `transform/<hour-start-ISO>`. The window is the partition plus LOOKBACK (2 h, see
 * activities/transform/extract.ts): rows that arrived or happened in it are merged into the work
 * layer, and only the dates they touch are rebuilt, each in its own transaction, a few at a time.
 */
import { ActivityFailure, ApplicationFailure, continueAsNew, deprecatePatch, isCancellation, log, patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { TransformActivities } from '../activities/transform';
import type { TransformSource } from '../activities/transform/sources';
import { invalidPartition, type LoadSummary, type PartitionInput, type PartitionOutput } from './partitions';
import { EtlPartition, EtlPipeline } from './search-attributes';
import { allOrCancel, causeMessage, slidingWindow } from './helpers';
import { activitiesOn } from './queues';
import { planFromExtracts } from './transform-plan';

/** Every source the transform reads; dimensions first only for readability, they run in parallel. */
const SOURCES: TransformSource[] = ['products', 'users', 'inventory', 'orders', 'order_lines', 'purchases', 'events'];
/** Dates rebuilt at once: each holds a connection and a per-date lock. */
export const DATE_CONCURRENCY = 4;
export const CANCEL_SIBLINGS_PATCH = 'transform-cancel-sibling-extracts';
/**
 * Dates rebuilt by one run. A run rebuilds each date with two activities (about 11 history events),
 * so the first run after years of ingestion continues as new with the rest instead of nearing
 * Temporal's history limit (51,200 events).
 */
export const MAX_DATES_PER_RUN = 400;
export const DATES_PER_RUN_PATCH = 'transform-dates-per-run';
/** Runs from before it rebuilt only their own dates, never those other runs left pending. */
export const PENDING_DATES_PATCH = 'transform-pending-dates';
/** A date load's dimsPending (an earlier load's inferred rows not in any dimension snapshot) asks for the snapshot. */
export const DIMS_PENDING_PATCH = 'transform-dims-pending';
/**
 * The dimension snapshot a catalog change asks for is written while the dates load, not after
 * them: it reads only the dimensions, which the extracts have committed, and the dates' loads use
 * one core (docs/transform.md). A load that infers a row after its read asks for another at the end.
 */
export const DIMS_BESIDE_DATES_PATCH = 'transform-dims-beside-dates';

/** A run continued as new: the extracts are done; rebuild `dates`, then finish with the carried output. */
export interface TransformResume {
  dates: string[];
  allDates: string[];
  loads: LoadSummary[];
  dimsChanged: boolean;
  /** Dates only other runs left pending: rebuilt too, but their failure is logged, not this run's. */
  othersPending?: string[];
  /** This run's dates a blocking data check kept unpublished so far (the run fails at its end). */
  blocked?: string[];
}

export interface TransformInput extends PartitionInput {
  /** Set by continue-as-new only. */
  resume?: TransformResume;
  /** Dates per run (default MAX_DATES_PER_RUN; tests use a few). */
  maxDatesPerRun?: number;
}

export interface TransformOutput extends PartitionOutput {
  /** The order/event dates this run rebuilt in analytics and in the curated lake. */
  dates: string[];
}

const acts = activitiesOn<TransformActivities>('heavy', {
  startToCloseTimeout: '30 minutes',
  // The activities heartbeat every 5 s (activities/transform/index.ts): a dead worker is noticed in 30 s.
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 6 },
});

/** The activity failed because a blocking data check kept its date unpublished (activities/transform/load.ts). */
function blockedByCheck(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'DataCheckFailed';
}

export async function transformWorkflow(input: TransformInput): Promise<TransformOutput> {
  const invalid = invalidPartition('transform', input);
  if (invalid) throw ApplicationFailure.nonRetryable(invalid, 'InvalidPartition');
  const { partitionStart, partitionEnd } = input;
  upsertSearchAttributes([{ key: EtlPipeline, value: 'transform' }, { key: EtlPartition, value: partitionStart }]);
  const base = `${workflowInfo().workflowId}`;

  // A scheduled run rebuilds only dates whose input changed (and dates an earlier run left pending); a backfill recomputes every date its window touches.
  const changedOnly = input.backfill !== true;
  const extract = (source: TransformSource) => () => acts.extractTransformSource({ source, partitionStart, partitionEnd, loadId: `${base}/extract/${source}`, changedOnly });
  let resume = input.resume;
  if (!resume) {
    // One extract failing cancels the other six (patched: older runs let them run on).
    const extracts = patched(CANCEL_SIBLINGS_PATCH) ? await allOrCancel(SOURCES.map(extract)) : await Promise.all(SOURCES.map((s) => extract(s)()));
    // Patched: which dates a run rebuilds now depends on a new field of the extracts' results.
    const { dates, othersPending, dimsChanged } = planFromExtracts(extracts, patched(PENDING_DATES_PATCH));
    resume = { dates, allDates: dates, loads: extracts.map((e) => e.load), dimsChanged, ...(othersPending.length ? { othersPending } : {}) };
  }
  const limit = Math.max(1, input.maxDatesPerRun ?? MAX_DATES_PER_RUN);
  // Patched where it changes anything (more dates than a run takes): a run in flight at the deploy rebuilds all its dates.
  const split = resume.dates.length > limit && patched(DATES_PER_RUN_PATCH);
  const othersOnly = new Set(resume.othersPending ?? []);
  const blocked = [...(resume.blocked ?? [])];
  const snapshotDate = partitionStart.slice(0, 10);
  // Patched: the snapshot's activity is scheduled before the dates' instead of after them.
  let snapshotFailed: unknown;
  let besideDates: Promise<void> | undefined;
  if (resume.dimsChanged && patched(DIMS_BESIDE_DATES_PATCH)) {
    besideDates = acts.writeCuratedDimensions({ date: snapshotDate }).then(() => undefined, (err: unknown) => { snapshotFailed = err; });
    // Covered by it, unless a date's load below infers a row (or finds one no snapshot covered).
    resume.dimsChanged = false;
  }
  await slidingWindow(split ? resume.dates.slice(0, limit) : resume.dates, DATE_CONCURRENCY, async (date) => {
    try {
      const loaded = await acts.loadAnalyticsDate({ date, partition: base });
      // An inferred customer or product changes the dimensions as a catalog load does (found by
      // the chaos run: the snapshot kept a hand-started run's older dim_customer). dimsPending: an
      // earlier load's inferred rows no snapshot has covered (its result lost on a retry after its
      // commit, or its run failed first). Results recorded before dimsInferred existed never carry
      // it. dimsPending is patched: an activity worker deployed before the workflow code could
      // record it in a run whose old code then ended without the snapshot.
      if (loaded?.dimsInferred || (loaded?.dimsPending && patched(DIMS_PENDING_PATCH))) resume.dimsChanged = true;
      await acts.writeCuratedDate({ date, clearPending: loaded?.snapshot });
    } catch (err) {
      // A date another run left pending and that still fails is that run's problem (its alert was
      // raised); its mark stays, and this run goes on with its own dates.
      if (othersOnly.has(date) && !isCancellation(err)) {
        log.warn('a date left pending by an earlier run failed to rebuild again; its mark stays', { date, error: causeMessage(err) });
        return;
      }
      // A date a blocking data check kept unpublished (docs/data-checks.md) does not stop the run's
      // other dates; the run fails at its end, naming it. (No patch: no run before data checks
      // existed could see this failure type, so no recorded history takes this branch.)
      if (blockedByCheck(err)) {
        blocked.push(date);
        return;
      }
      throw err;
    }
  });
  // Its failure fails the run as the snapshot after the dates did, once the dates are published;
  // a run that continues as new first hands its other dates on, and the next run writes it again
  // (beside its own dates). A cancellation is never handed on. (Part of the same patch: no run of
  // an earlier release took this branch.)
  await besideDates;
  if (snapshotFailed !== undefined) {
    if (!split || isCancellation(snapshotFailed)) throw snapshotFailed;
    log.warn('the dimension snapshot failed; the run continues with its other dates and writes it at its end', { error: causeMessage(snapshotFailed) });
    resume.dimsChanged = true;
  }
  if (split) {
    return continueAsNew<typeof transformWorkflow>({ ...input, resume: { ...resume, dates: resume.dates.slice(limit), ...(blocked.length ? { blocked } : {}) } });
  }
  // A deprecated patch (docs/orchestration.md, "Patch lifecycle"): runs that wrote the snapshot every time are gone.
  deprecatePatch('dims-snapshot-on-change');
  if (resume.dimsChanged) await acts.writeCuratedDimensions({ date: snapshotDate });
  if (blocked.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `${base}: analytics date${blocked.length > 1 ? 's' : ''} ${blocked.sort().join(', ')} not published: a blocking data check failed (their previous versions stay; etl checks --failed, docs/data-checks.md); the run's other dates were published`,
      'DataCheckFailed');
  }

  return { pipeline: 'transform', partitionStart, partitionEnd, loads: resume.loads, dates: resume.allDates };
}

