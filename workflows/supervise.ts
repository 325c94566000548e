/**
 * The supervisor of a long-running loop (the events stream, the realtime metrics): the work runs as
 * one long activity, a session, that polls and loads inside itself and heartbeats. It stays on one
 * worker while it lives (its Kafka reader warm) and moves to another when that worker dies (the
 * heartbeat timeout; Temporal retries it). The workflow keeps the lifecycle: start a session,
 * record its totals when it ends (hourly), cancel it on stop, and restart it with back-off when it
 * fails for good, raising an alert, so the loop never ends silently. Idle, that is a handful of
 * history events an hour instead of thousands (docs/orchestration.md, "Supervised loops").
 */
import { ActivityCancellationType, CancellationScope, condition, isCancellation, log, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { raiseAlert } from './alerting';
import { causeMessage } from './helpers';

/**
 * A session's retries: back-off 1 s, 2 s, 4 s, 8 s, then every 10 s, 10 attempts, so failures in a
 * row without progress (handOver in activities/common/heartbeat.ts) are retried for about a minute
 * (65 s) before the supervisor restarts the session and alerts. 5 attempts spanned 15 s: a
 * PostgreSQL restart slower than that (crash recovery after a busy hour, a failover) paged someone
 * for a fault the stream then recovered from (the short chaos test holds PostgreSQL down 20 s). A
 * minute also outlasts a range's own "stuck" rule (30 s of failing, activities/events/index.ts),
 * which pages first for an outage that lasts, where its alert can be written. The 10 s cap (30 s
 * before) bounds how long the stream stays idle after the service is back: the short chaos test's
 * 22 s PostgreSQL outage cost the stream 37.3 s with the 30 s cap and 31.8 s with this one.
 */
export const SESSION_RETRY = { initialInterval: '1 second', maximumInterval: '10 seconds', backoffCoefficient: 2, maximumAttempts: 10 } as const;

/**
 * A loop's session activity: ends itself hourly (the timeout only bounds one that lost track); a
 * stop waits for it to end its batch (it stops at its next heartbeat); a worker killed mid-session
 * is noticed within `heartbeatTimeout` and the session retried elsewhere; one failing for good is
 * restarted by the supervisor with back-off and an alert.
 */
export function sessionActivityOptions(heartbeatTimeout: Duration): ActivityOptions {
  return {
    startToCloseTimeout: '3 hours',
    heartbeatTimeout,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: SESSION_RETRY,
  };
}

/** The old shape's one-batch (or one-pass) activity, retried until it succeeds. */
export function batchActivityOptions(heartbeatTimeout: Duration): ActivityOptions {
  return { startToCloseTimeout: '5 minutes', heartbeatTimeout, retry: { initialInterval: '1 second', maximumInterval: '30 seconds', backoffCoefficient: 2 } };
}

/**
 * Set by the loop's stop signal; `cancel` ends the running session. `failures` is the current
 * failure streak, carried across continue-as-new so the back-off and the alerts go on from it.
 */
export interface StopState { stop: boolean; cancel?: () => void; failures: number }

export interface Supervised<O> {
  pipeline: 'events' | 'realtime';
  /** What the alert calls the loop, e.g. "events stream group etl-events on shop.events". */
  name: string;
  /** One session: resolves with its totals when it ends by itself. */
  session(): Promise<O>;
  record(out: O): void;
  /** The loop did all it was asked (maxBatches, maxPasses). */
  finished(): boolean;
  /** Sessions in this run before continue-as-new. */
  sessionsPerRun: number;
  /** Counts a failed session (the totals' restarts). */
  failed(): void;
  /** The first restart's delay (default 5 s; it doubles, up to 5 min). */
  restartDelayMs?: number;
}

/** Back-off before restarting a session that failed `n` times in a row: 5 s, 10 s, ... 5 min. */
export const restartDelayMs = (n: number, first = 5_000) => Math.min(300_000, first * 2 ** Math.max(0, n - 1));

/** Runs sessions until stopped, finished, or it is time to continue as new. */
export async function superviseSessions<O>(s: Supervised<O>, state: StopState): Promise<'signal' | 'finished' | 'continue'> {
  for (let i = 0; i < s.sessionsPerRun && !workflowInfo().continueAsNewSuggested; i++) {
    if (state.stop) return 'signal';
    if (s.finished()) return 'finished';
    const scope = new CancellationScope();
    state.cancel = () => scope.cancel();
    try {
      s.record(await scope.run(() => s.session()));
      state.failures = 0;
    } catch (err) {
      if (state.stop && isCancellation(err)) return 'signal';
      const failures = ++state.failures;
      s.failed();
      // One alert per failure streak (and a reminder every tenth failure in a row), never silence.
      if (failures === 1 || failures % 10 === 0) {
        const { workflowId, runId } = workflowInfo();
        const wait = restartDelayMs(failures, s.restartDelayMs);
        try {
          await raiseAlert({
            alertId: `${workflowId}/${runId}/session-${i}`, pipeline: s.pipeline, kind: 'failed', workflowId, runId,
            message: `${s.name} failed ${failures} time${failures > 1 ? 's' : ''} in a row (its retries spent): ${causeMessage(err)}. It restarts in ${(wait / 1000).toFixed(1)} s and keeps restarting with back-off; fix the cause (the worker log has the stack).`,
          });
        } catch (alertErr) {
          // Staging may be what is down (it is where alerts are written): the loop must outlive that.
          if (isCancellation(alertErr)) throw alertErr;
          log.warn('could not record the loop failure alert', { pipeline: s.pipeline, error: causeMessage(alertErr) });
        }
      }
      await condition(() => state.stop, restartDelayMs(failures, s.restartDelayMs));
    } finally {
      state.cancel = undefined;
    }
  }
  if (state.stop) return 'signal';
  return s.finished() ? 'finished' : 'continue';
}
