/**
 * Freshness SLAs (issue 16, docs/operations.md) on real PostgreSQL and Temporal, in this file's own
 * databases: a pipeline's loads stop (as when its schedule is paused), its SLA passes, the check
 * (freshnessWorkflow, as its schedule starts it) raises one `stale` alert however often it runs,
 * `etl status` shows it, and a new load (the schedule resumed) clears it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '../../activities/common/loads';
import { freshnessWorkflow, type FreshnessInput } from '../../workflows/freshness';
import { statusSections } from '../../cli/commands/status';
import { testEnv, type TestEnv } from '../support/env';

const SLA: FreshnessInput = { slaMinutes: { orders: 0.05 } }; // 3 s

describe('freshness SLAs: stale alerts raised once and cleared (real PostgreSQL, Temporal)', () => {
  let env: TestEnv;
  let n = 0;
  const check = () => env.withWorker(() => env.client.workflow.execute(freshnessWorkflow, { taskQueue: env.taskQueue, workflowId: `freshness/test-${env.taskQueue}-${++n}`, args: [SLA] }));
  // A window of the orders pipeline that has just ended, loaded as the pipeline records it.
  const ordersLoad = (i: number) => runLoad(env.deps.staging, {
    loadId: `orders/test-freshness-${env.taskQueue}-${i}`, pipeline: 'orders', source: 'orders_api',
    partitionStart: new Date(Date.now() - 600_000).toISOString(), partitionEnd: new Date(Date.now() - 500).toISOString(),
  }, async () => ({ received: 5, loaded: 5, quarantined: 0, duplicates: 0 }));
  // A backfill of an old window: it must not make the paused schedule's pipeline look fresh.
  const oldWindow = () => runLoad(env.deps.staging, {
    loadId: `orders/test-freshness-${env.taskQueue}-old`, pipeline: 'orders', source: 'orders_api', partitionStart: '2020-01-01T00:00:00.000Z', partitionEnd: '2020-01-01T00:10:00.000Z',
  }, async () => ({ received: 1, loaded: 1, quarantined: 0, duplicates: 0 }));
  const openStale = async () => (await env.deps.staging.query<{ alert_id: string; message: string; cleared_at: Date | null }>(
    `select alert_id, message, cleared_at from etl.alerts where kind = 'stale' and pipeline = 'orders' order by raised_at`)).rows;

  beforeAll(async () => {
    env = await testEnv('freshness');
  });
  afterAll(async () => env?.close());

  it('fresh, then stale past the SLA (one alert however often checked), shown by etl status, then cleared by a new load', async () => {
    await ordersLoad(1);
    const first = await check();
    expect(first.targets.find((t) => t.target === 'orders')).toMatchObject({ state: 'fresh', slaMinutes: 0.05 });
    // Targets with nothing loaded yet are not late, and the rest keep their default SLAs.
    expect(first.targets.find((t) => t.target === 'transform')).toMatchObject({ state: 'no_data', slaMinutes: 75 });
    expect(first.raised).toEqual([]);
    expect(await openStale()).toEqual([]);

    await new Promise((r) => setTimeout(r, 3500)); // the orders schedule paused: no load for longer than the SLA
    await oldWindow(); // meanwhile a backfill loads an old window
    const late = await check();
    expect(late.targets.find((t) => t.target === 'orders')?.state).toBe('stale');
    expect(late.raised).toHaveLength(1);
    const again = await check();
    expect(again.raised).toEqual([]);
    const alerts = await openStale();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ alert_id: late.raised[0], cleared_at: null });
    expect(alerts[0]!.message).toMatch(/^orders is stale: its newest data \(staging\.orders, staging\.order_lines\) is from .* old, past its SLA of 0\.05 min$/);

    const status = await statusSections({ ...env.config, ETL_FRESHNESS_MINUTES: 'orders=0.05' });
    expect(status.freshness).toEqual(expect.arrayContaining([expect.objectContaining({ target: 'orders', state: 'stale' })]));
    expect(status.openAlerts).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'stale', pipeline: 'orders' })]));
    expect(status.lastRuns).toEqual(expect.arrayContaining([expect.objectContaining({ pipeline: 'orders', status: 'succeeded' })]));

    await ordersLoad(2); // the schedule resumed: a window loads
    const caughtUp = await check();
    expect(caughtUp.targets.find((t) => t.target === 'orders')?.state).toBe('fresh');
    expect(caughtUp.cleared).toEqual([late.raised[0]]);
    expect((await openStale()).every((a) => a.cleared_at !== null)).toBe(true);
    const after = await statusSections({ ...env.config, ETL_FRESHNESS_MINUTES: 'orders=0.05' });
    expect(after.openAlerts).not.toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'stale', pipeline: 'orders' })]));
  });
});
