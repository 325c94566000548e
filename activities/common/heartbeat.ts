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

/**
 * Runs `work` with a keepAlive every `everyMs` (default 5 s; `details()` is sent with each), so a
 * worker that dies mid-work is noticed within the activity's heartbeat timeout, however long one
 * statement or chunk of it takes.
 */
export async function whileAlive<T>(work: () => Promise<T>, details?: () => unknown, everyMs = 5000): Promise<T> {
  const timer = setInterval(() => keepAlive(details?.()), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * A long session's hand-over. A session activity (workflows/supervise.ts) runs for an hour with a
 * retry budget of a few attempts, and Temporal counts attempts per activity, not per failure
 * streak: a worker killed, then S3 down a minute later, then PostgreSQL restarted, each with the
 * session making progress between them, would spend the budget and alert as if the stream were
 * stuck (found by bench/chaos.ts). So a retried attempt whose predecessor made progress (its last
 * heartbeat's details say so) ends at once and hands that progress back, `endedBy: 'handover'`:
 * the workflow records it (it was lost before) and starts a fresh session with a fresh budget. Only
 * failures in a row without progress count toward the budget. Null when there is nothing to hand over.
 */
export function handOver<T extends { endedBy: string }>(progressed: (prior: T) => boolean): (T & { endedBy: 'handover' }) | null {
  let info: Context['info'];
  try {
    info = Context.current().info;
  } catch {
    return null;
  }
  const prior = info.heartbeatDetails as T | undefined;
  if (info.attempt <= 1 || !prior || typeof prior !== 'object' || !progressed(prior)) return null;
  return { ...prior, endedBy: 'handover' };
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

/** The activity's logger, or the console outside an activity (tests and benches call activity code directly). */
export function activityLog(): { warn(m: string): void } {
  try {
    return Context.current().log;
  } catch {
    return console;
  }
}
