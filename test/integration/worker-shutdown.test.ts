/**
 * A worker stopped while an activity runs (a deploy, SIGTERM) hands the attempt back: the worker's
 * shutdown cancels it after the grace time, the activity stops at its next heartbeat, the attempt
 * fails, and Temporal retries it at once on the next worker; not after the heartbeat timeout, and
 * not after a 30-minute start-to-close timeout. The real worker's options (workers/worker.ts), with
 * a shorter grace time so the test is quick.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorker } from '../../workers/worker';
import { createFakePipelineActivities } from '../fixtures/orchestration/activities';
import { orchestrationEnv, waitFor, type OrchestrationEnv } from '../fixtures/orchestration/env';
import { workflowCode } from '../support/env';

describe('worker shutdown during a load (real Temporal + PostgreSQL)', () => {
  let env: OrchestrationEnv;
  beforeAll(async () => {
    env = await orchestrationEnv('worker-shutdown');
  });
  afterAll(async () => env?.close());

  const worker = async () => createWorker({ ...env.config, TEMPORAL_TASK_QUEUE: env.taskQueue }, {
    ...(await workflowCode({ workflowsPath: join(__dirname, '..', 'fixtures', 'orchestration', 'workflows.ts') })),
    activities: createFakePipelineActivities(env.deps.staging),
    shutdownGraceTime: '1 second',
  });
  const attempts = async (key: string) => (await env.deps.staging.query<{ run_id: string; finished: boolean }>(
    'select run_id, finished_at is not null as finished from orch_test.runs where run_id like $1 order by run_id', [`${key}/%`])).rows;

  it('gives the running attempt up: it stops at its next heartbeat and the retry runs on the next worker at once', async () => {
    const key = `slow/${randomUUID().slice(0, 8)}`;
    const first = await worker();
    const running = first.run();
    const handle = await env.client.workflow.start('slowActivityWorkflow', { taskQueue: env.taskQueue, workflowId: key, args: [{ key, steps: 3000 }] });
    await waitFor('the first attempt running', async () => (await attempts(key)).length === 1);
    first.shutdown();
    await running;
    await first.close();
    // The first attempt stopped without finishing its 300 s of steps.
    expect(await attempts(key)).toEqual([{ run_id: `${key}/1`, finished: false }]);

    const second = await worker();
    const attempt = await second.runUntil(() => handle.result());
    await second.close();
    expect(attempt).toBe(2);
    // The retry's start records why the first attempt ended: a cancellation by the shutdown, not a timeout.
    const { events } = await handle.fetchHistory();
    const started = (events ?? []).map((e) => e.activityTaskStartedEventAttributes).find((a) => a?.attempt === 2);
    expect(started?.lastFailure?.timeoutFailureInfo).toBeFalsy();
    expect(started?.lastFailure?.message ?? '').toMatch(/cancel|shut/i);
  });

  it('a cancelled activity cancels its PostgreSQL statement in flight: the attempt ends at once, not after the statement', async () => {
    const key = `stmt-${randomUUID().slice(0, 8)}`;
    const inFlight = async () => (await env.deps.staging.query<{ pid: number }>(
      "select pid from pg_stat_activity where query like $1 and query not like '%pg_stat_activity%'", [`%/* ${key} */%`])).rows;
    const ended = await env.run(async () => {
      const handle = await env.client.workflow.start('longStatementWorkflow', { taskQueue: env.taskQueue, workflowId: key, args: [{ key, seconds: 300 }] });
      await waitFor('the statement running', async () => (await inFlight()).length === 1);
      await handle.cancel();
      // The workflow waits for the activity to finish its cancellation (WAIT_CANCELLATION_COMPLETED).
      const result = handle.result().then(() => 'completed', (err: unknown) => (err instanceof WorkflowFailedError ? err.cause?.constructor.name : String(err)));
      // Without the cancel reaching the statement, the attempt would run its 300 s.
      const late = new Promise<string>((r) => setTimeout(() => r('still running 60 s after the cancel'), 60_000).unref());
      const out = await Promise.race([result, late]);
      if (out !== 'completed' && out !== 'CancelledFailure') await handle.terminate('test: the statement was not cancelled').catch(() => undefined);
      return out;
    });
    expect(ended).toBe('CancelledFailure');
    // The statement was cancelled on the server (57014), not left to run its 300 s behind the attempt.
    const [run] = (await env.deps.staging.query<{ note: string; finished: boolean }>('select note, finished_at is not null as finished from orch_test.runs where run_id = $1', [key])).rows;
    expect(run).toEqual({ note: '57014', finished: true });
    expect(await inFlight()).toEqual([]);
  });
});
