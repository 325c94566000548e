import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createEventsActivities, DEFAULT_STUCK_ALERT_AFTER_MS, type EventsDeps } from '../../activities/events';
import { createRealtimeActivities } from '../../activities/realtime';
import { SESSION_RETRY, sessionActivityOptions } from '../../workflows/supervise';
import { retrySpanMs } from '../support/retry-span';

/** Dependencies that fail on first use: a session that hands over must not touch any. */
const untouchable = <T extends object>(): T => new Proxy({} as T, { get: (_t, key) => {
  if (key === 'then') return undefined;
  throw new Error(`touched ${String(key)}`);
} });
const deps = () => ({ staging: untouchable(), analytics: untouchable(), s3: untouchable(), bucket: 'b', kafka: untouchable(), eventsTopic: 't' }) as unknown as EventsDeps & { analytics: never };
const env = (attempt: number, heartbeatDetails?: unknown) => new MockActivityEnvironment({ attempt, heartbeatDetails });

describe('a retried session hands back the progress of the attempt that failed', () => {
  const prior = { batches: 7, received: 7000, loaded: 6990, quarantined: 3, duplicates: 7, endedBy: 'time' };

  it('events: a retry after progress returns the prior totals at once, so the workflow records them and starts a fresh session', async () => {
    const acts = createEventsActivities(deps());
    await expect(env(2, prior).run(acts.runEventsSession, {})).resolves.toEqual({ ...prior, endedBy: 'handover' });
  });

  it('events: a first attempt, or a retry after no progress, runs the session (and so counts toward the retry budget)', async () => {
    const acts = createEventsActivities(deps());
    await expect(env(1, prior).run(acts.runEventsSession, {})).rejects.toThrow(/touched/);
    await expect(env(3, { ...prior, received: 0, loaded: 0, quarantined: 0, duplicates: 0 }).run(acts.runEventsSession, {})).rejects.toThrow(/touched/); // idle batches only
    await expect(env(3).run(acts.runEventsSession, {})).rejects.toThrow(/touched/);
  });

  it('realtime: the same, counted in passes', async () => {
    const acts = createRealtimeActivities(deps() as never);
    const passes = { passes: 4, minutes: 12, loads: 9, evaluated: 12, raised: 0, sent: 0, endedBy: 'time' };
    await expect(env(2, passes).run(acts.runRealtimeSession, {})).resolves.toEqual({ ...passes, endedBy: 'handover' });
    await expect(env(2, { ...passes, minutes: 0 }).run(acts.runRealtimeSession, {})).rejects.toThrow(/touched/); // idle passes only
  });
});

describe('a session\'s retry budget', () => {
  it('retries failures in a row for about a minute: longer than a slow PostgreSQL restart and a range\'s 30 s "stuck" rule', () => {
    const span = retrySpanMs(SESSION_RETRY);
    // 5 attempts spanned 15 s, and a 20 s PostgreSQL restart paged someone (chaos.test.ts holds it
    // down 20 s); twice the range's "stuck" rule is a minute.
    expect(span).toBeGreaterThanOrEqual(2 * DEFAULT_STUCK_ALERT_AFTER_MS);
    // Not so long that a loop failing for good stays silent: the supervisor alerts within a few minutes.
    expect(span).toBeLessThanOrEqual(180_000);
    // Both loops' sessions run with it.
    expect(sessionActivityOptions('20 seconds').retry).toEqual(SESSION_RETRY);
  });
});
