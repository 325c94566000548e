/** Deterministic helpers shared by the workflows (no I/O, no clock). */
import { CancellationScope } from '@temporalio/workflow';

/** A sliding window: at most `limit` items in flight, the next starting (in order) as soon as one ends. */
export async function slidingWindow<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await run(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Adds each of `keys` of `from` into `to` (a loop's totals from one batch, pass or session). */
export function addCounts<K extends string>(to: Record<K, number>, from: Record<K, number>, keys: readonly K[]): void {
  for (const k of keys) to[k] += from[k];
}

/** The innermost message of an error: ChildWorkflowFailure and ActivityFailure wrap the real reason. */
export function causeMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

/**
 * Promise.all that cancels the others when one fails: their activities get a cancel request (and
 * stop at their next heartbeat) instead of running on for a result nobody will read.
 */
export async function allOrCancel<T>(tasks: ReadonlyArray<() => Promise<T>>): Promise<T[]> {
  const scope = new CancellationScope();
  return scope.run(() => Promise.all(tasks.map((task) => task().catch((err: unknown) => {
    scope.cancel();
    throw err;
  }))));
}

/**
 * The periodic checks' activity options (the schedule monitor, the freshness check; every 5
 * minutes, overlap SKIP): retried for about a minute (2, 4, 8 s, then every 10 s: 54 s), so a
 * PostgreSQL restart of 20–30 s does not fail the check's run. 3 attempts spanned 6 s.
 */
export const CHECK_ACTIVITY_OPTIONS = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '10 seconds', backoffCoefficient: 2, maximumAttempts: 8 },
} as const;
