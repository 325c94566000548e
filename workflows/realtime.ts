import { ApplicationFailure, condition, continueAsNew, defineQuery, defineSignal, patched, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { RealtimeActivities, RealtimeSessionOutput } from '../activities/realtime';
import { SUPERVISED_SESSION_PATCH } from './events-stream';
import { addCounts } from './helpers';
import { batchActivityOptions, sessionActivityOptions, superviseSessions, type StopState } from './supervise';
import { EtlPartition, EtlPipeline } from './search-attributes';
import { activitiesOn } from './queues';

export interface RealtimeTotals {
  passes: number; minutes: number; loads: number; evaluated: number; raised: number; sent: number; runs: number;
  /** Sessions that failed for good and were restarted (supervised runs only). */
  restarts?: number;
}

/**
 * The realtime metrics loop beside the events stream: apply what events loads marked dirty,
 * judge closed minutes, deliver alerts. `totals` is carried across continue-as-new; leave it unset.
 */
export interface RealtimeMetricsInput {
  /** Pause after a pass that found nothing to do (default 500 ms): the latency floor. */
  pollMs?: number;
  /** Passes per run before continue-as-new (default 300); runs from before the supervised sessions only. */
  passesPerRun?: number;
  /** How long one session (one long activity) runs before it reports its totals (default one hour). */
  sessionMs?: number;
  /** Sessions per run before continue-as-new (default 24). */
  sessionsPerRun?: number;
  /** Delay before the first restart of a failed session (default 5000 ms, doubling to 5 min). */
  restartDelayMs?: number;
  /** The supervisor's failure streak; carried across continue-as-new, leave it unset. */
  failureStreak?: number;
  /**
   * 'batches' runs the shape from before the supervised sessions (one activity per batch or pass, a
   * timer when idle), for benchmarks that compare the two in one run; default 'sessions'.
   */
  loop?: 'sessions' | 'batches';
  /** Stop after this many passes in all (tests); without it the loop runs until a stop signal. */
  maxPasses?: number;
  totals?: RealtimeTotals;
}

export interface RealtimeMetricsOutput extends RealtimeTotals { stoppedBy: 'signal' | 'maxPasses' }

/** What a pass or a session counts, summed into the totals. */
const COUNTS = ['minutes', 'loads', 'evaluated', 'raised', 'sent'] as const;

export const stopRealtimeSignal = defineSignal('stop');
export const realtimeProgressQuery = defineQuery<RealtimeTotals>('progress');

// A pass heartbeats between its steps; webhook deliveries (up to 20 at 5 s each) are the longest gap.
const { runRealtimeSession } = activitiesOn<RealtimeActivities>('stream', sessionActivityOptions('30 seconds'));
const { refreshRealtime } = activitiesOn<RealtimeActivities>('stream', batchActivityOptions('30 seconds'));

function invalid(input: RealtimeMetricsInput | undefined): string | undefined {
  if (!input || typeof input !== 'object') return 'realtime: input must be an object (use {} for the defaults)';
  for (const k of ['pollMs', 'passesPerRun', 'maxPasses', 'sessionMs', 'sessionsPerRun', 'restartDelayMs'] as const) {
    const v = input[k];
    if (v !== undefined && (!Number.isInteger(v) || v < (k === 'pollMs' ? 0 : 1))) return `realtime: ${k} must be a positive integer, got ${String(v)}`;
  }
  return undefined;
}

/** Keeps analytics.realtime_* up to date with the events in staging until stopped. */
export async function realtimeMetricsWorkflow(input: RealtimeMetricsInput): Promise<RealtimeMetricsOutput> {
  const problem = invalid(input);
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidInput');
  upsertSearchAttributes([{ key: EtlPipeline, value: 'realtime' }, { key: EtlPartition, value: 'live' }]);
  const totals: RealtimeTotals = { passes: 0, minutes: 0, loads: 0, evaluated: 0, raised: 0, sent: 0, runs: 0, ...input.totals };
  totals.runs++;
  const state: StopState = { stop: false, failures: input.failureStreak ?? 0 };
  setHandler(stopRealtimeSignal, () => {
    state.stop = true;
    state.cancel?.();
  });
  setHandler(realtimeProgressQuery, () => totals);

  if (input.loop !== 'batches' && patched(SUPERVISED_SESSION_PATCH)) {
    const end = await superviseSessions<RealtimeSessionOutput>({
      pipeline: 'realtime',
      name: 'the realtime metrics loop',
      session: () => runRealtimeSession({ pollMs: input.pollMs, maxPasses: input.maxPasses === undefined ? undefined : input.maxPasses - totals.passes, sessionMs: input.sessionMs }),
      record: (o) => addCounts(totals, o, ['passes', ...COUNTS]),
      finished: () => input.maxPasses !== undefined && totals.passes >= input.maxPasses,
      sessionsPerRun: input.sessionsPerRun ?? 24,
      restartDelayMs: input.restartDelayMs,
      failed: () => void (totals.restarts = (totals.restarts ?? 0) + 1),
    }, state);
    if (end === 'signal') return { ...totals, stoppedBy: 'signal' };
    if (end === 'finished') return { ...totals, stoppedBy: 'maxPasses' };
    return continueAsNew<typeof realtimeMetricsWorkflow>({ ...input, totals, failureStreak: state.failures });
  }

  // Runs from before the supervised sessions: one activity per pass.
  // The handler above sets state.stop (a signal buffered before it was registered went to it).

  const passesPerRun = input.passesPerRun ?? 300;
  for (let i = 0; i < passesPerRun && !workflowInfo().continueAsNewSuggested; i++) {
    if (state.stop) return { ...totals, stoppedBy: 'signal' };
    if (input.maxPasses !== undefined && totals.passes >= input.maxPasses) return { ...totals, stoppedBy: 'maxPasses' };
    const r = await refreshRealtime({});
    totals.passes++;
    addCounts(totals, r, COUNTS);
    // Work found: look again at once, since loads kept committing during the pass.
    if (r.minutes === 0 && !r.dirtyLeft) await condition(() => state.stop, input.pollMs ?? 500);
  }
  if (state.stop) return { ...totals, stoppedBy: 'signal' };
  return continueAsNew<typeof realtimeMetricsWorkflow>({ ...input, totals });
}
