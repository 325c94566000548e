import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { heartbeat } from '../../activities/common/heartbeat';
import type { EventsSessionInput, EventsSessionOutput } from '../../activities/events';
import { eventsProgressQuery, eventsStreamWorkflow, stopEventsSignal } from '../../workflows/events-stream';
import { testEnv, type TestEnv } from '../support/env';
import { until } from '../support/wait';

/**
 * The supervisor of the events stream (workflows/supervise.ts): the real Temporal server, the
 * session activity stubbed (no Kafka); the alerts are real rows in the file's own staging database.
 */
describe('eventsStreamWorkflow supervisor (stub sessions)', () => {
  let env: TestEnv;
  const tag = randomUUID().slice(0, 8);
  beforeAll(async () => {
    env = await testEnv('events-stream-wf');
  });
  afterAll(async () => env?.close());

  const session = (batches: number): EventsSessionOutput => ({ batches, received: 10 * batches, loaded: 9 * batches, quarantined: batches, duplicates: 0, endedBy: 'maxBatches' });
  const withStubs = <T>(fn: () => Promise<T>, runEventsSession: (i: EventsSessionInput) => Promise<EventsSessionOutput>) =>
    env.withWorker(fn, { activities: { ...createActivities(env.deps), runEventsSession }, maxHeartbeatThrottleInterval: '500 milliseconds' });

  it('counts batches across sessions and continue-as-new, and stops at maxBatches', async () => {
    const calls: EventsSessionInput[] = [];
    const out = await withStubs(() => env.client.workflow.execute(eventsStreamWorkflow, {
      taskQueue: env.taskQueue, workflowId: `events/stream/wf-${tag}-max`, args: [{ topic: 't', consumerGroup: 'g', maxMessages: 7, sessionsPerRun: 2, maxBatches: 5 }],
    }), async (i) => (calls.push(i), session(Math.min(2, i.maxBatches ?? 2))));
    expect(out).toEqual({ batches: 5, received: 50, loaded: 45, quarantined: 5, duplicates: 0, runs: 2, stoppedBy: 'maxBatches' });
    expect(calls.map((c) => c.maxBatches)).toEqual([5, 3, 1]);
    expect(calls[0]).toMatchObject({ topic: 't', consumerGroup: 'g', maxMessages: 7 });
  });

  it('a stop cancels the running session, which ends at its next heartbeat, and the stream ends', async () => {
    let cancelled = false;
    let started = false;
    const out = await withStubs(async () => {
      const h = await env.client.workflow.start(eventsStreamWorkflow, { taskQueue: env.taskQueue, workflowId: `events/stream/wf-${tag}-stop`, args: [{}] });
      await until('the session running', async () => (started ? true : undefined), 60_000, 50);
      expect((await h.query(eventsProgressQuery)).batches).toBe(0);
      await h.signal(stopEventsSignal);
      return h.result();
    }, async () => {
      started = true;
      try {
        for (;;) {
          heartbeat({ batches: 0 });
          await new Promise((r) => setTimeout(r, 100));
        }
      } catch (err) {
        cancelled = err instanceof CancelledFailure;
        throw err;
      }
    });
    expect(out).toMatchObject({ batches: 0, stoppedBy: 'signal' });
    expect(cancelled).toBe(true);
  });

  it('restarts a session that failed for good, with one alert for the streak, and goes on', async () => {
    let calls = 0;
    const workflowId = `events/stream/wf-${tag}-restart`;
    const out = await withStubs(() => env.client.workflow.execute(eventsStreamWorkflow, {
      taskQueue: env.taskQueue, workflowId, args: [{ maxBatches: 1, restartDelayMs: 100 }],
    }), async () => {
      calls++;
      if (calls <= 2) throw ApplicationFailure.nonRetryable(`planted session failure ${calls}`, 'Planted');
      return session(1);
    });
    expect(out).toMatchObject({ batches: 1, restarts: 2, stoppedBy: 'maxBatches' });
    expect(calls).toBe(3);
    const { rows } = await env.deps.staging.query<{ kind: string; pipeline: string; message: string }>('select kind, pipeline, message from etl.alerts where workflow_id = $1', [workflowId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'failed', pipeline: 'events' });
    expect(rows[0]?.message).toMatch(/the events stream \(group etl-events, the default topic\) failed 1 time in a row .*planted session failure 1.*restarts in 0\.1 s/);
  });

  it('rejects a bad input as a non-retryable failure', async () => {
    await expect(withStubs(() => env.client.workflow.execute(eventsStreamWorkflow, {
      taskQueue: env.taskQueue, workflowId: `events/stream/wf-${tag}-bad`, args: [{ maxMessages: 0 }],
    }), async () => session(0))).rejects.toBeInstanceOf(WorkflowFailedError);
    const d = await env.client.workflow.getHandle(`events/stream/wf-${tag}-bad`).describe();
    expect(d.status.name).toBe('FAILED');
  });
});
