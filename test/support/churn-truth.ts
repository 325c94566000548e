/** The generator's planted churners, as the pipeline names them, and a ROC AUC to judge scores against them. */
import { pseudonym } from '../../lib/pseudonym';
import { churnOf } from '../../shop/generator/churn';
import { userCount, userId } from '../../shop/generator/users';

const DAY = 86_400_000;

/**
 * Pseudonym -> planted churner, for the users of a generated dataset (seed, start, days, scale,
 * share as generated) still active at `cutoff`: churners whose churn moment is after it, and every
 * other user. Users who had already stopped are left out; recency alone finds them.
 */
export function plantedChurners(o: { seed: number; start: string; days: number; scale: number; share: number; cutoff: string; key: string }): Map<string, boolean> {
  const start = Date.parse(`${o.start}T00:00:00Z`);
  const plan = { share: o.share, from: start - o.days * DAY, end: start + o.days * DAY };
  const cutoff = Date.parse(`${o.cutoff}T00:00:00Z`);
  const truth = new Map<string, boolean>();
  for (let i = 0; i < userCount(o.scale); i++) {
    const c = churnOf(o.seed, i, plan);
    if (!c.churner || c.at > cutoff) truth.set(pseudonym(userId(i), o.key), c.churner);
  }
  return truth;
}

/** ROC AUC by the rank-sum (Mann-Whitney U), ties averaged. */
export function rocAuc(labels: boolean[], scores: number[]): number {
  const idx = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(scores.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
    for (let k = i; k <= j; k++) ranks[idx[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  const pos = labels.filter(Boolean).length;
  const neg = labels.length - pos;
  const sum = labels.reduce((s, l, i) => s + (l ? ranks[i]! : 0), 0);
  return pos === 0 || neg === 0 ? NaN : (sum - (pos * (pos + 1)) / 2) / (pos * neg);
}
