/**
 * The transform's plan from its extracts' results: pure, shared by workflows/transform.ts and
 * bench/transform-day.ts. Not re-exported by workflows/index.ts, whose exported functions are
 * registered as workflow types.
 */
import type { LoadSummary } from './partitions';

/** What a run's extracts say it must rebuild (bench/transform-day.ts runs the same plan). */
export interface ExtractsPlan { dates: string[]; othersPending: string[]; dimsChanged: boolean }

/**
 * The dates a run rebuilds: its extracts' own, and (withPending) those only earlier runs left
 * pending. A dimension snapshot only when products or users changed: a full dump every hour (and
 * every backfilled hour) cost more than the rest of the run at scale.
 */
export function planFromExtracts(extracts: Array<{ load: LoadSummary; dates: string[]; pending?: string[] }>, withPending: boolean): ExtractsPlan {
  const own = new Set(extracts.flatMap((e) => e.dates));
  const othersPending = withPending ? [...new Set(extracts.flatMap((e) => e.pending ?? []))].filter((d) => !own.has(d)).sort() : [];
  const dates = [...new Set([...own, ...othersPending])].sort();
  const dimsChanged = extracts.some((e) => (e.load.source === 'products' || e.load.source === 'users') && e.load.loaded > 0);
  return { dates, othersPending, dimsChanged };
}
