/**
 * The dates of a churn training run (docs/churn.md), pure. Scores are made at `cutoff`; the model
 * is judged at `testCutoff` = cutoff - N (its label window [testCutoff, cutoff) is the latest one
 * complete); it is trained at earlier cutoffs whose label windows end by the test cutoff, a step
 * apart, each with at least N days of history before it. Never a random split of one period.
 */
const DAY = 86_400_000;

export const MAX_TRAIN_CUTOFFS = 12;
/** History a training cutoff needs before it: the horizon, or a week when the horizon is longer. */
export const MIN_HISTORY_DAYS = 7;

export interface ChurnDates { cutoff: string; testCutoff: string; trainCutoffs: string[]; horizonDays: number; stepDays: number }

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const ms = (date: string) => Date.parse(`${date}T00:00:00Z`);

export class ChurnPlanError extends Error {}

/**
 * The longest horizon the history allows: a training cutoff needs N days of history before it (at
 * most MIN_HISTORY_DAYS), its label window (N days) must end by the test cutoff, and the test window
 * (N days) by the cutoff. Kept at a third of the history, which is exact for N up to a week.
 * `historyStart` is when every source's history has begun (orders and, when there are any, events):
 * a training cutoff before the events begin would see no behaviour, unlike the test and scoring ones.
 */
export function maxHorizonDays(cutoff: string, historyStart: string): number {
  return Math.floor((ms(cutoff) - ms(historyStart)) / DAY / 3);
}

/** The later of the first order and the first event (none: the first order). */
export function historyStart(firstOrder: string, firstEvent: string | null): string {
  return firstEvent !== null && firstEvent > firstOrder ? firstEvent : firstOrder;
}

/**
 * Training cutoffs are a quarter of the horizon apart (at least a day): overlapping label windows
 * give more rows from a short history; the rows are correlated, which the test cutoff judges.
 * Throws ChurnPlanError naming the dates when the history is too short for one training cutoff.
 */
export function churnDates(cutoff: string, horizonDays: number, start: string): ChurnDates {
  if (!Number.isInteger(horizonDays) || horizonDays < 1) throw new ChurnPlanError(`the churn horizon must be a whole number of days >= 1, got ${horizonDays}`);
  const stepDays = Math.max(1, Math.ceil(horizonDays / 4));
  const c = ms(cutoff);
  const test = c - horizonDays * DAY;
  const earliest = ms(start) + Math.min(horizonDays, MIN_HISTORY_DAYS) * DAY;
  const trainCutoffs: string[] = [];
  for (let t = test - horizonDays * DAY; t >= earliest && trainCutoffs.length < MAX_TRAIN_CUTOFFS; t -= stepDays * DAY) trainCutoffs.unshift(iso(t));
  if (trainCutoffs.length === 0) {
    throw new ChurnPlanError(`too little history for cutoff ${cutoff}: with a horizon of ${horizonDays} days the test cutoff is ${iso(test)} and the latest training cutoff ${iso(test - horizonDays * DAY)}, `
      + `but the history (orders and events) begins on ${start} and a training cutoff needs ${Math.min(horizonDays, MIN_HISTORY_DAYS)} days of it (history from ${iso(test - (horizonDays + Math.min(horizonDays, MIN_HISTORY_DAYS)) * DAY)} at the latest)`);
  }
  return { cutoff, testCutoff: iso(test), trainCutoffs, horizonDays, stepDays };
}
