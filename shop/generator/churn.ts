/**
 * The planted churn signal. Some users churn: they come back less and less, then stop, and meanwhile
 * abandon more carts and return more orders. Who churns and when is a pure function of seed and user
 * index (like countryOf), so no list of users is kept, whatever the scale.
 */
import { CHURN_DRIVERS, type ChurnSummary } from '../../contract/manifest';
import { mixSeed, type Rng } from './prng';
import { pickUser } from './users';

const DAY = 86_400_000;
/** Share of users who churn unless told otherwise. */
export const DEFAULT_CHURN_SHARE = 0.3;
/** Re-picks for a visit by a user who is slowing down or gone; bounded so a visit never spins. */
const MAX_REPICKS = 10;

/** Who churns: `share` of users in [0, 1); `from` and `end` (ms) bound the data, purchase files to API end. */
export interface ChurnPlan { share: number; from: number; end: number }

/** `at` is the churn moment in ms; Infinity for users who never churn. */
export interface Churn { churner: boolean; at: number }

const NEVER: Churn = { churner: false, at: Infinity };
const unit = (seed: number, stream: string) => mixSeed(seed, stream) / 4294967296;
const spanOf = (plan: ChurnPlan) => plan.end - plan.from;

/** The range churn moments are drawn from: late enough to show a history, some after the data ends. */
function churnWindow(plan: ChurnPlan): { from: number; to: number } {
  const lead = Math.round(0.3 * spanOf(plan));
  return { from: plan.from + lead, to: plan.end + lead };
}

export function churnOf(seed: number, index: number, plan: ChurnPlan): Churn {
  if (plan.share <= 0 || unit(seed, `churn/${index}`) >= plan.share) return NEVER;
  const w = churnWindow(plan);
  return { churner: true, at: w.from + Math.floor(unit(seed, `churn-at/${index}`) * (w.to - w.from)) };
}

/** How likely the user still shows up at `t`: 1, or for churners a linear fall to 0 at the churn moment. */
export function activity(seed: number, index: number, t: number, plan: ChurnPlan): number {
  const { churner, at } = churnOf(seed, index, plan);
  if (!churner) return 1;
  return Math.min(1, Math.max(0, (at - t) / (0.4 * spanOf(plan))));
}

/**
 * The user of a visit or purchase at `t`: picked with `rng` as before, then, while the pick fails an
 * activity draw, re-picked from `churnRng`, so `rng` draws exactly as often as without churn. A pick
 * that has stopped altogether is never kept: it moves on to the next index still active, if any.
 */
export function pickActiveUser(rng: Rng, churnRng: Rng, count: number, seed: number, t: number, plan: ChurnPlan): number {
  let user = pickUser(rng, count);
  for (let tries = 0; tries < MAX_REPICKS; tries++) {
    const a = activity(seed, user, t, plan);
    if (a >= 1 || churnRng.next() < a) return user;
    user = pickUser(churnRng, count);
  }
  for (let step = 0; step < count && activity(seed, user, t, plan) <= 0; step++) user = (user + 1) % count;
  return user;
}

/** What the manifest says about the planted churn; null when nothing was planted. */
export function churnSummary(seed: number, users: number, plan: ChurnPlan): ChurnSummary | null {
  if (plan.share <= 0) return null;
  let churners = 0;
  for (let i = 0; i < users; i++) if (churnOf(seed, i, plan).churner) churners++;
  const w = churnWindow(plan);
  return {
    share: plan.share,
    churners,
    rampDays: (0.4 * spanOf(plan)) / DAY,
    window: { from: new Date(w.from).toISOString(), to: new Date(w.to).toISOString() },
    drivers: [...CHURN_DRIVERS],
  };
}
