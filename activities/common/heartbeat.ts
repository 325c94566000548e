/**
 * Heartbeats from code that also runs outside an activity (a benchmark, a script, a unit test).
 * Every heartbeat is also a cancellation point: an attempt that was cancelled (the workflow asked,
 * the worker is shutting down, or the server timed the attempt out and retries it elsewhere) stops
 * at its next progress point instead of running on beside its retry.
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';

/** Reports progress to Temporal when inside an activity; does nothing elsewhere. Throws once the attempt is cancelled. */
export function heartbeat(details?: unknown): void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return; // Not in an activity: nobody to tell.
  }
  ctx.heartbeat(details);
  const signal = ctx.cancellationSignal;
  if (signal.aborted) throw cancellationError(signal);
}

/**
 * A heartbeat from a timer, during work that has no progress points (one long statement, a COPY
 * stream): says "alive", never throws (a throw in a timer would crash the worker). The work itself
 * should stop on cancellation by other means, or at the next heartbeat() after it.
 */
export function keepAlive(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Not in an activity.
  }
}

/** The attempt number of the running activity (1 outside an activity). */
export function attempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1;
  }
}

/** The error a cancelled attempt ends with: the SDK's reason (a CancelledFailure), or one made from it. */
export function cancellationError(signal: AbortSignal, cause?: unknown): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new CancelledFailure(`activity cancelled: ${String(reason)}`, [], cause instanceof Error ? cause : undefined);
}
