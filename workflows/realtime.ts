import { ApplicationFailure, condition, continueAsNew, defineQuery, defineSignal, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { RealtimeActivities } from '../activities/realtime';
import { EtlPartition, EtlPipeline } from './search-attributes';
import { activitiesOn } from './queues';

export interface RealtimeTotals { passes: number; minutes: number; loads: number; evaluated: number; raised: number; sent: number; runs: number }

/**
 * The realtime metrics loop beside the events stream: recompute what events loads marked dirty,
 * judge closed minutes, deliver alerts. `totals` is carried across continue-as-new; leave it unset.
 */
export interface RealtimeMetricsInput {
  /** Pause after a pass that found nothing to do (default 500 ms): the latency floor. */
  pollMs?: number;
  /** Passes per run before continue-as-new (default 300). */
  passesPerRun?: number;
  /** Stop after this many passes in all (tests); without it the loop runs until a stop signal. */
  maxPasses?: number;
  totals?: RealtimeTotals;
}

export interface RealtimeMetricsOutput extends RealtimeTotals { stoppedBy: 'signal' | 'maxPasses' }

export const stopRealtimeSignal = defineSignal('stop');
export const realtimeProgressQuery = defineQuery<RealtimeTotals>('progress');

const { refreshRealtime } = activitiesOn<RealtimeActivities>('stream', {
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', backoffCoefficient: 2 },
});

function invalid(input: RealtimeMetricsInput | undefined): string | undefined {
  if (!input || typeof input !== 'object') return 'realtime: input must be an object (use {} for the defaults)';
  for (const k of ['pollMs', 'passesPerRun', 'maxPasses'] as const) {
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
  let stop = false;
  setHandler(stopRealtimeSignal, () => void (stop = true));
  setHandler(realtimeProgressQuery, () => totals);

  const passesPerRun = input.passesPerRun ?? 300;
  for (let i = 0; i < passesPerRun && !workflowInfo().continueAsNewSuggested; i++) {
    if (stop) return { ...totals, stoppedBy: 'signal' };
    if (input.maxPasses !== undefined && totals.passes >= input.maxPasses) return { ...totals, stoppedBy: 'maxPasses' };
    const r = await refreshRealtime({});
    totals.passes++;
    totals.minutes += r.minutes;
    totals.loads += r.loads;
    totals.evaluated += r.evaluated;
    totals.raised += r.raised;
    totals.sent += r.sent;
    // Work found: look again at once, since loads kept committing during the pass.
    if (r.minutes === 0 && !r.dirtyLeft) await condition(() => stop, input.pollMs ?? 500);
  }
  if (stop) return { ...totals, stoppedBy: 'signal' };
  return continueAsNew<typeof realtimeMetricsWorkflow>({ ...input, totals });
}
