/**
 * Customer churn (docs/churn.md, issue 15): plans a training run from the analytics data (a
 * TypeScript activity), then trains, evaluates and scores in Python (scikit-learn) on the
 * `<base>-ml` queue, served by the ML worker (workers/ml.ts). Started weekly by the `etl-churn`
 * schedule and on demand by `etl churn train`. A run is one activity call of each: its history
 * stays a few dozen events. Bad data (too few customers, one class) and a too-good AUC (leakage)
 * fail the run without retry, with a message naming the cutoff and the counts.
 */
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ChurnActivities, ChurnMlActivities, ChurnPlan, PlanChurnInput, TrainChurnOutput } from '../activities/churn';
import { activitiesOn } from './queues';
import { EtlPartition, EtlPipeline } from './search-attributes';

export interface ChurnInput extends PlanChurnInput {
  /** Random state of the models (default 1): the same data and seed give the same models. */
  seed?: number;
  /** A test ROC AUC above this fails the run as suspected leakage (default 0.95). */
  maxAuc?: number;
}
export interface ChurnResult extends TrainChurnOutput { plan: ChurnPlan }

export const DEFAULT_MAX_AUC = 0.95;

/** The plan's retries, about 2 minutes (5 s doubling to 1 min): a weekly run outlasts a PostgreSQL restart (5 attempts spanned 15 s). */
export const CHURN_PLAN_RETRY = { initialInterval: '5 seconds', maximumInterval: '1 minute', backoffCoefficient: 2, maximumAttempts: 6 } as const;
const plan = activitiesOn<ChurnActivities>('default', { startToCloseTimeout: '5 minutes', retry: CHURN_PLAN_RETRY });
const ml = activitiesOn<ChurnMlActivities>('ml', {
  // Waits up to an hour for an ML worker to poll; then the run fails visibly rather than hang.
  scheduleToStartTimeout: '1 hour',
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '20 minutes',
  retry: { initialInterval: '10 seconds', maximumAttempts: 3, nonRetryableErrorTypes: ['ChurnInputError', 'ChurnLeakageSuspected'] },
});

export async function churnWorkflow(input: ChurnInput = {}): Promise<ChurnResult> {
  const p = await plan.planChurn({ cutoff: input.cutoff, horizonDays: input.horizonDays });
  upsertSearchAttributes([{ key: EtlPipeline, value: 'churn' }, { key: EtlPartition, value: p.cutoff }]);
  const run = `${p.cutoff}_${workflowInfo().runId}`;
  const trained = await ml.trainChurnModels({
    cutoff: p.cutoff, testCutoff: p.testCutoff, trainCutoffs: p.trainCutoffs, horizonDays: p.horizonDays, stepDays: p.stepDays,
    runId: run, artefactPrefix: `models/churn/${run}/`, seed: input.seed ?? 1, maxAuc: input.maxAuc ?? DEFAULT_MAX_AUC,
  });
  return { ...trained, plan: p };
}
