import type { OrderStatus } from '../../contract/layout';
import type { Rng } from './prng';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export interface StatusChange { status: OrderStatus; ts: number }

/** The next batch run at one of the given UTC hours after `ts`: many orders share its timestamp. */
function nextBatch(ts: number, hours: readonly number[]): number {
  const day = Math.floor(ts / DAY) * DAY;
  for (let d = 0; d < 3; d++) {
    for (const h of hours) {
      const t = day + d * DAY + h * HOUR;
      if (t > ts) return t;
    }
  }
  return ts + DAY;
}

/**
 * The status history of one order after it is placed. Payment follows within minutes; shipping and
 * delivery are batch jobs (so unrelated orders share an updated_at, which an incremental cursor must
 * handle); cancellations come before shipping, returns after delivery. Churners return far more (a
 * planted churn driver, churn.ts), with the same single draw.
 */
export function statusChanges(rng: Rng, placed: number, churner = false): StatusChange[] {
  if (rng.chance(0.04)) return [{ status: 'cancelled', ts: placed + rng.int(10 * MIN, 6 * HOUR) }];
  const paid = placed + rng.int(MIN, 20 * MIN);
  const out: StatusChange[] = [{ status: 'paid', ts: paid }];
  if (rng.chance(0.03)) {
    out.push({ status: 'cancelled', ts: paid + rng.int(HOUR, DAY) });
    return out;
  }
  const shipped = nextBatch(paid + 2 * HOUR, [6, 14]);
  const delivered = nextBatch(shipped + rng.int(1, 4) * DAY - 6 * HOUR, [18]);
  out.push({ status: 'shipped', ts: shipped }, { status: 'delivered', ts: delivered });
  if (rng.chance(churner ? 0.25 : 0.05)) out.push({ status: 'returned', ts: delivered + rng.int(2 * DAY, 10 * DAY) });
  return out;
}

/** Ratings lean positive, as on real shops; returned products get the low ones. */
export function rating(rng: Rng, returned: boolean): number {
  if (returned) return rng.chance(0.7) ? 1 : 2;
  const u = rng.next();
  return u < 0.05 ? 1 : u < 0.12 ? 2 : u < 0.25 ? 3 : u < 0.55 ? 4 : 5;
}
