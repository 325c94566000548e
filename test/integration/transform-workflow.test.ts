/**
 * The transform workflow's own logic, with stub activities (the workflow, the worker and the
 * heartbeat helper are real):
 * - its seven extracts run in parallel; when one fails, the workflow fails with its error and
 *   cancels the other six, which stop at their next heartbeat (activities/common/heartbeat.ts);
 * - a run with more dates than maxDatesPerRun continues as new with the rest, so the first run after
 *   years of ingestion stays far from the history limit;
 * - the dimension snapshot a catalog change asks for is written while the dates load, and once more
 *   after them only when a date's load inferred a dimension row; its failure fails the run after
 *   the dates, except in a run that continues as new, whose next run writes it.
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

describe('transform workflow with stub activities (real Temporal): cancellation and long date lists', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await testEnv('transform-workflow');
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

  it('continues as new after maxDatesPerRun dates and rebuilds every date once, extracting only in the first run', async () => {
    const dates = Array.from({ length: 12 }, (_, i) => `2031-02-${String(i + 1).padStart(2, '0')}`);
    const extracted: string[] = [];
    const loaded: string[] = [];
    const curated: string[] = [];
    const stubs = {
      async extractTransformSource(input: ExtractInput) {
        extracted.push(input.source);
        return { load: { loadId: input.loadId, source: input.source, received: 1, loaded: 1, quarantined: 0, duplicates: 0 }, dates: input.source === 'events' ? dates : dates.slice(0, 2) };
      },
      async loadAnalyticsDate(input: { date: string }) {
        loaded.push(input.date);
        return { date: input.date, orderLines: 0, events: 0, orders: 0 };
      },
      async writeCuratedDate(input: { date: string }) {
        curated.push(input.date);
        return { date: input.date, objects: 0, rows: {} };
      },
      async writeCuratedDimensions(input: { date: string }) {
        return { date: input.date, objects: 0, rows: {} };
      },
    };
    const hour = '2031-02-12T05:00:00.000Z';
    const workflowId = `transform/${hour}/test-dates-${randomUUID().slice(0, 8)}`;
    const out = await env.withWorker(() => env.client.workflow.execute(transformWorkflow, {
      taskQueue: env.taskQueue, workflowId, args: [{ partitionStart: hour, partitionEnd: '2031-02-12T06:00:00.000Z', maxDatesPerRun: 5 }],
    }), { activities: { ...createActivities(env.deps), ...stubs } });
    expect(out.dates).toEqual(dates);
    expect(out.loads.map((l) => l.source).sort()).toEqual(['events', 'inventory', 'order_lines', 'orders', 'products', 'purchases', 'users']);
    expect(extracted).toHaveLength(7);
    expect([...loaded].sort()).toEqual(dates);
    expect([...curated].sort()).toEqual(dates);
    const runs = [];
    for await (const w of env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) runs.push(w.status.name);
    expect(runs.sort()).toEqual(['COMPLETED', 'CONTINUED_AS_NEW', 'CONTINUED_AS_NEW']);
  });

  it('writes the dimension snapshot a catalog change asks for while the dates load, and again after them only when a load inferred a row', async () => {
    const dates = ['2031-03-01', '2031-03-02', '2031-03-03'];
    const run = async (inferOn: string | null) => {
      const log: string[] = [];
      const stubs = {
        async extractTransformSource(input: ExtractInput) {
          // users changed: the run needs a dimension snapshot from the start.
          return { load: { loadId: input.loadId, source: input.source, received: 1, loaded: input.source === 'users' ? 1 : 0, quarantined: 0, duplicates: 0 }, dates: input.source === 'events' ? dates : [] };
        },
        async loadAnalyticsDate(input: { date: string }) {
          log.push(`load ${input.date} start`);
          await new Promise((r) => setTimeout(r, 500));
          log.push(`load ${input.date} end`);
          return { date: input.date, orderLines: 0, events: 0, orders: 0, ...(input.date === inferOn ? { dimsInferred: 1 } : {}) };
        },
        async writeCuratedDate(input: { date: string }) {
          log.push(`curated ${input.date}`);
          return { date: input.date, objects: 0, rows: {} };
        },
        async writeCuratedDimensions(input: { date: string }) {
          log.push(`dims ${input.date}`);
          return { date: input.date, objects: 0, rows: {} };
        },
      };
      const hour = '2031-03-03T05:00:00.000Z';
      await env.withWorker(() => env.client.workflow.execute(transformWorkflow, {
        taskQueue: env.taskQueue, workflowId: `transform/${hour}/test-dims-${randomUUID().slice(0, 8)}`,
        args: [{ partitionStart: hour, partitionEnd: '2031-03-03T06:00:00.000Z' }],
      }), { activities: { ...createActivities(env.deps), ...stubs } });
      return log;
    };
    const plain = await run(null);
    expect(plain.filter((l) => l.startsWith('dims'))).toEqual(['dims 2031-03-03']);
    // Before the dates' loads end (each takes 500 ms), not after their curated copies.
    expect(plain.indexOf('dims 2031-03-03')).toBeLessThan(plain.findIndex((l) => l.endsWith(' end')));
    const inferred = await run('2031-03-02');
    expect(inferred.filter((l) => l.startsWith('dims'))).toEqual(['dims 2031-03-03', 'dims 2031-03-03']);
    // The second one covers the inferred row: it comes after every date's curated copy.
    expect(inferred.lastIndexOf('dims 2031-03-03')).toBe(inferred.length - 1);
  });

  it('a failed dimension snapshot fails a run once its dates are published; a run that continues as new hands its dates on, and the next run writes the snapshot', async () => {
    const dates = ['2031-04-01', '2031-04-02', '2031-04-03'];
    const run = async (maxDatesPerRun: number) => {
      const loaded: string[] = [];
      let snapshots = 0;
      const stubs = {
        async extractTransformSource(input: ExtractInput) {
          return { load: { loadId: input.loadId, source: input.source, received: 1, loaded: input.source === 'users' ? 1 : 0, quarantined: 0, duplicates: 0 }, dates: input.source === 'events' ? dates : [] };
        },
        async loadAnalyticsDate(input: { date: string }) {
          loaded.push(input.date);
          return { date: input.date, orderLines: 0, events: 0, orders: 0 };
        },
        async writeCuratedDate(input: { date: string }) {
          return { date: input.date, objects: 0, rows: {} };
        },
        async writeCuratedDimensions(input: { date: string }) {
          snapshots += 1;
          if (snapshots === 1) throw ApplicationFailure.nonRetryable('planted snapshot failure', 'Planted');
          return { date: input.date, objects: 0, rows: {} };
        },
      };
      const hour = '2031-04-03T05:00:00.000Z';
      const outcome = await env.withWorker(() => env.client.workflow.execute(transformWorkflow, {
        taskQueue: env.taskQueue, workflowId: `transform/${hour}/test-dims-fail-${randomUUID().slice(0, 8)}`,
        args: [{ partitionStart: hour, partitionEnd: '2031-04-03T06:00:00.000Z', maxDatesPerRun }],
      }).catch((e: unknown) => e), { activities: { ...createActivities(env.deps), ...stubs } });
      return { outcome, loaded: [...loaded].sort(), snapshots };
    };
    const single = await run(10);
    expect(single.outcome).toBeInstanceOf(WorkflowFailedError);
    expect(((single.outcome as WorkflowFailedError).cause?.cause as Error | undefined)?.message).toBe('planted snapshot failure');
    expect(single.loaded).toEqual(dates); // its dates were published first
    expect(single.snapshots).toBe(1);
    const chained = await run(2);
    expect(chained.outcome).toMatchObject({ dates });
    expect(chained.loaded).toEqual(dates);
    expect(chained.snapshots).toBe(2); // the second run wrote it
  });
});
