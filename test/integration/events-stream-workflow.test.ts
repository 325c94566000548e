import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumeEventsBatchInput, ConsumeEventsBatchOutput } from '../../activities/events';
import { eventsProgressQuery, eventsStreamWorkflow, stopEventsSignal } from '../../workflows/events-stream';
import { testEnv, type TestEnv } from '../support/env';

/** Workflow logic only: the real Temporal server, stub activities (no Kafka, no database). */
describe('eventsStreamWorkflow logic (stub activities)', () => {
  let env: TestEnv;
  const tag = randomUUID().slice(0, 8);
  beforeAll(async () => {
    env = await testEnv('events-stream-wf');
  });
  afterAll(async () => env?.close());

  const batch = (received: number): ConsumeEventsBatchOutput => ({ received, loaded: received - 1, quarantined: 1, duplicates: 0, loads: [] });

  it('counts batches across continue-as-new and stops at maxBatches', async () => {
    const calls: ConsumeEventsBatchInput[] = [];
    const activities = { consumeEventsBatch: async (i: ConsumeEventsBatchInput) => (calls.push(i), batch(10)) };
    const out = await env.withWorker(() => env.client.workflow.execute(eventsStreamWorkflow, {
      taskQueue: env.taskQueue, workflowId: `events/stream/wf-${tag}-max`, args: [{ topic: 't', consumerGroup: 'g', maxMessages: 7, batchesPerRun: 2, maxBatches: 5 }],
    }), { activities });
    expect(out).toEqual({ batches: 5, received: 50, loaded: 45, quarantined: 5, duplicates: 0, runs: 3, stoppedBy: 'maxBatches' });
    expect(calls).toHaveLength(5);
    expect(calls[0]).toEqual({ topic: 't', consumerGroup: 'g', maxMessages: 7, maxWaitMs: undefined });
  });

  it('ends on the stop signal, also while waiting after an empty batch', async () => {
    const activities = { consumeEventsBatch: async () => batch(0) };
    const out = await env.withWorker(async () => {
      const h = await env.client.workflow.start(eventsStreamWorkflow, { taskQueue: env.taskQueue, workflowId: `events/stream/wf-${tag}-stop`, args: [{ idleSleepMs: 600_000 }] });
      // Up to two minutes for the first (empty) batch, so a loaded machine cannot send the signal first.
      for (let i = 0; i < 1200 && (await h.query(eventsProgressQuery)).batches === 0; i++) await new Promise((r) => setTimeout(r, 100));
      const began = Date.now();
      await h.signal(stopEventsSignal);
      const r = await h.result();
      return { r, ms: Date.now() - began };
    }, { activities });
    expect(out.r).toMatchObject({ batches: 1, received: 0, stoppedBy: 'signal' });
    expect(out.ms).toBeLessThan(120_000); // not the 10-minute idle wait
  });

  it('rejects a bad input as a non-retryable failure', async () => {
    await expect(env.withWorker(() => env.client.workflow.execute(eventsStreamWorkflow, {
      taskQueue: env.taskQueue, workflowId: `events/stream/wf-${tag}-bad`, args: [{ maxMessages: 0 }],
    }), { activities: { consumeEventsBatch: async () => batch(0) } })).rejects.toBeInstanceOf(WorkflowFailedError);
    const d = await env.client.workflow.getHandle(`events/stream/wf-${tag}-bad`).describe();
    expect(d.status.name).toBe('FAILED');
  });
});
