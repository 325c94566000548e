/**
 * The churn path's TypeScript activity: it plans a training run from the analytics data (the
 * horizon N from work.churn_horizon, the cutoffs from plan.ts). The training itself is a Python
 * activity (ml/shop_ml/activities.py, `trainChurnModels`), typed here for the workflow.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import { parseDate } from '../../contract/rules';
import { ChurnPlanError, churnDates, historyStart, maxHorizonDays, type ChurnDates } from './plan';

export interface ChurnDeps { analytics: Pool }

export interface PlanChurnInput {
  /** Scoring date YYYY-MM-DD (features before it); default: the day after the latest order, at most today (UTC). */
  cutoff?: string;
  /** N in days; default: from the data (work.churn_horizon). */
  horizonDays?: number;
}
/**
 * horizonFrom: 'data' (the 80th percentile of repeat-order gaps), 'data-capped' (that percentile,
 * `dataHorizonDays`, was longer than the history allows: maxHorizonDays), or 'input'.
 */
export interface ChurnPlan extends ChurnDates { horizonFrom: 'data' | 'data-capped' | 'input'; dataHorizonDays: number | null; repeatGaps: number; firstOrder: string; lastOrder: string; firstEvent: string | null }

/** What the Python activity takes (ml/shop_ml/activities.py) and returns. */
export interface TrainChurnInput extends ChurnDates { runId: string; artefactPrefix: string; seed: number; maxAuc: number }
export interface ChurnModelSummary { model: string; metrics: Record<string, number>; topFeatures: Array<{ feature: string; importance: number }> }
export interface TrainChurnOutput {
  runId: string; artefact: string; scored: number; trainingRows: number; testRows: number; durationSeconds: number;
  train: { rows: number; churned: number; retained: number }; test: { rows: number; churned: number; retained: number };
  models: ChurnModelSummary[]; libraryVersions: Record<string, string>;
}
export interface ChurnMlActivities { trainChurnModels(input: TrainChurnInput): Promise<TrainChurnOutput> }

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function createChurnActivities({ analytics }: ChurnDeps) {
  return {
    async planChurn(input: PlanChurnInput): Promise<ChurnPlan> {
      if (input.cutoff !== undefined && (!DATE.test(input.cutoff) || parseDate(input.cutoff) === null)) {
        throw ApplicationFailure.nonRetryable(`churn: cutoff ${JSON.stringify(input.cutoff)} is not a date YYYY-MM-DD`, 'ChurnInputError');
      }
      const { rows: [latest] } = await analytics.query<{ cutoff: string | null }>(
        // Never past today (UTC): a label window ending in a day still under way would call its later buyers churned.
        `select least(max(order_date) + 1, (now() at time zone 'UTC')::date)::text as cutoff from fact_order_line where order_date <= (now() at time zone 'UTC')::date`);
      const cutoff = input.cutoff ?? latest?.cutoff ?? null;
      if (!cutoff) throw ApplicationFailure.nonRetryable('churn: analytics holds no orders yet (fact_order_line is empty): run the transform first', 'ChurnInputError');
      const { rows: [h] } = await analytics.query<{ horizon_days: number | null; gaps: string; first_order: string | null; last_order: string | null }>(
        `select horizon_days, gaps, first_order::text, last_order::text from work.churn_horizon($1::date)`, [cutoff]);
      if (!h?.first_order || !h.last_order) throw ApplicationFailure.nonRetryable(`churn: no orders before cutoff ${cutoff}`, 'ChurnInputError');
      const { rows: [ev] } = await analytics.query<{ first_event: string | null }>(`select min(event_date)::text as first_event from fact_event where event_date < $1::date`, [cutoff]);
      const firstEvent = ev?.first_event ?? null;
      const start = historyStart(h.first_order, firstEvent);
      const cap = maxHorizonDays(cutoff, start);
      const horizon = input.horizonDays ?? (h.horizon_days === null ? null : Math.max(1, Math.min(h.horizon_days, cap)));
      if (horizon === null) {
        throw ApplicationFailure.nonRetryable(`churn: no customer ordered on two different days before cutoff ${cutoff} (orders ${h.first_order} .. ${h.last_order}), so no horizon can be chosen from the data; pass --horizon-days`, 'ChurnInputError');
      }
      try {
        const horizonFrom = input.horizonDays ? 'input' : horizon < (h.horizon_days ?? 0) ? 'data-capped' : 'data';
        return { ...churnDates(cutoff, horizon, start), horizonFrom, dataHorizonDays: h.horizon_days, repeatGaps: Number(h.gaps), firstOrder: h.first_order, lastOrder: h.last_order, firstEvent };
      } catch (err) {
        if (err instanceof ChurnPlanError) throw ApplicationFailure.nonRetryable(`churn: ${err.message}`, 'ChurnInputError');
        throw err;
      }
    },
  };
}

export type ChurnActivities = ReturnType<typeof createChurnActivities>;
