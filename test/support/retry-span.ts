import { msToNumber } from '@temporalio/common/lib/time';
import type { Duration } from '@temporalio/common';

/** A retry policy as the workflows write them (every field given). */
export interface FullRetry { initialInterval: Duration; maximumInterval: Duration; backoffCoefficient: number; maximumAttempts: number }

/** The waits between a policy's attempts, summed, as Temporal computes them: initial × coefficient^n, capped. */
export function retrySpanMs(r: FullRetry): number {
  let span = 0;
  for (let n = 0; n < r.maximumAttempts - 1; n++) span += Math.min(msToNumber(r.maximumInterval), msToNumber(r.initialInterval) * r.backoffCoefficient ** n);
  return span;
}
