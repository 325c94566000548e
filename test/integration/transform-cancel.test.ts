/**
 * The transform's seven extracts run in parallel; when one fails, the workflow fails with its
 * error and cancels the other six, which stop at their next heartbeat (activities/common/heartbeat.ts)
 * instead of running on for a result no one reads. The extracts are stubs here: the workflow and
 * the cancellation path are real (Temporal, the worker, the heartbeat helper).
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { heartbeat } from '../../activities/common/heartbeat';
import type { ExtractInput } from '../../activities/transform';
import { transformWorkflow } from '../../workflows/transform';
import { testEnv, type TestEnv } from '../support/env';
import { until } from '../support/wait';

describe('transform: one extract failing cancels the others (real Temporal)', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await testEnv('transform-cancel');
  });
  afterAll(async () => env?.close());

  it('fails with the failed extract\'s error, and the six others are cancelled and stop', async () => {
    const stopped: string[] = [];
    const extractTransformSource = async (input: ExtractInput) => {
      if (input.source === 'events') {
        await new Promise((r) => setTimeout(r, 300));
        throw ApplicationFailure.nonRetryable('planted extract failure', 'Planted');
      }
      try {
        for (;;) {
          heartbeat({ source: input.source });
          await new Promise((r) => setTimeout(r, 100));
        }
      } catch (err) {
        if (err instanceof CancelledFailure) stopped.push(input.source);
        throw err;
      }
    };
    const hour = '2031-01-01T05:00:00.000Z';
    const workflowId = `transform/${hour}/test-cancel-${randomUUID().slice(0, 8)}`;
    const err = await env.withWorker(async () => {
      const e = await env.client.workflow.execute(transformWorkflow, {
        taskQueue: env.taskQueue, workflowId,
        args: [{ partitionStart: hour, partitionEnd: '2031-01-01T06:00:00.000Z' }],
      }).catch((x: unknown) => x);
      await until('the six other extracts to stop', async () => (stopped.length === 6 ? true : undefined), 30_000, 100);
      return e;
    }, { activities: { ...createActivities(env.deps), extractTransformSource }, maxHeartbeatThrottleInterval: '1 second' });
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(((err as WorkflowFailedError).cause?.cause as Error | undefined)?.message).toBe('planted extract failure');
    expect([...stopped].sort()).toEqual(['inventory', 'order_lines', 'orders', 'products', 'purchases', 'users']);
    // Cancelled by the workflow itself, in its history: not only found orphaned once it had closed.
    const { events } = await env.client.workflow.getHandle(workflowId).fetchHistory();
    expect((events ?? []).filter((e) => e.activityTaskCancelRequestedEventAttributes)).toHaveLength(6);
  });
});
