/**
 * The worker's task queues (workers/worker.ts, workflows/queue-names.ts): heavy loads take at most
 * their own slots, and a stream activity runs at once while every heavy slot is taken and more
 * heavy work waits. With one shared queue of 20 slots, 30 held loads starved the stream's batch.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIVITY_SLOTS, createWorker } from '../../workers/worker';
import { parseQueueRoles } from '../../workers/main';
import { createFakePipelineActivities } from '../fixtures/orchestration/activities';
import { orchestrationEnv, waitFor, type OrchestrationEnv } from '../fixtures/orchestration/env';
import { workflowCode } from '../support/env';

describe('worker task queues (real Temporal)', () => {
  let env: OrchestrationEnv;
  beforeAll(async () => {
    env = await orchestrationEnv('worker-queues');
  });
  afterAll(async () => env?.close());

  it('runs a stream activity at once while every heavy slot is held and more heavy work waits', async () => {
    let held = 0;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const activities = {
      ...createFakePipelineActivities(env.deps.staging),
      async holdSlot() {
        held++;
        await released;
      },
      async streamPing() {
        return held;
      },
    };
    const started = await createWorker({ ...env.config, TEMPORAL_TASK_QUEUE: env.taskQueue }, {
      ...(await workflowCode({ workflowsPath: join(__dirname, '..', 'fixtures', 'orchestration', 'workflows.ts') })),
      activities,
    });
    try {
      expect(started.queues.map((q) => q.taskQueue)).toEqual([env.taskQueue, `${env.taskQueue}-stream`, `${env.taskQueue}-heavy`]);
      await started.runUntil(async () => {
        const heavy = await env.client.workflow.start('holdHeavySlots', { taskQueue: env.taskQueue, workflowId: `${env.taskQueue}/heavy`, args: [{ n: 30 }] });
        await waitFor('the heavy slots full', async () => held === ACTIVITY_SLOTS.heavy);
        const seen = await env.client.workflow.execute('pingStream', { taskQueue: env.taskQueue, workflowId: `${env.taskQueue}/ping` });
        expect(seen).toBe(ACTIVITY_SLOTS.heavy);
        expect(held).toBe(ACTIVITY_SLOTS.heavy);
        release();
        await heavy.result();
        expect(held).toBe(30);
      });
    } finally {
      release();
      await started.close();
    }
  });

  it('etl worker --queues takes a subset of the roles and refuses unknown ones', () => {
    expect(parseQueueRoles(undefined)).toEqual(['default', 'stream', 'heavy']);
    expect(parseQueueRoles('heavy, stream,heavy')).toEqual(['heavy', 'stream']);
    expect(() => parseQueueRoles('default,bulk')).toThrow(/unknown queue role "bulk"; use a comma-separated list of default, stream, heavy, ml/);
  });
});
