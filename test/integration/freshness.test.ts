/**
 * Freshness SLAs (issue 16, docs/operations.md) on real PostgreSQL and Temporal, in this file's own
 * databases: a pipeline's loads stop (as when its schedule is paused), its SLA passes, the check
 * (freshnessWorkflow, as its schedule starts it) raises one `stale` alert however often it runs,
 * `etl status` shows it, and a new load (the schedule resumed) clears it. Then the same with the
 * real schedules, the real orders pipeline against the shop simulator's API, and the webhook.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '../../activities/common/loads';
import { applySchedules } from '../../schedules/apply';
import { deleteSchedules } from '../../schedules/delete';
import { pauseSchedules } from '../../schedules/pause';
import { FRESHNESS_NAME, scheduleId } from '../../schedules/specs';
import { triggerSchedule } from '../../schedules/trigger';
import { unpauseSchedules } from '../../schedules/unpause';
import { startShop, type Shop } from '../../shop/simulator/start-shop';
import type { CheckFreshnessOutput } from '../../activities/monitor/freshness';
import { freshnessWorkflow, type FreshnessInput } from '../../workflows/freshness';
import { statusSections } from '../../cli/commands/status';
import { taggedDataset, type TestDataset } from '../support/datasets';
import { testEnv, type TestEnv } from '../support/env';
import { until } from '../support/wait';

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

  const prefix = `f${randomUUID().slice(0, 8)}-`;
  const hooks: Array<{ key: string | undefined; body: Record<string, unknown> }> = [];
  let server: Server;
  let shop: Shop | undefined;
  let data: TestDataset | undefined;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString('utf8'); });
      req.on('end', () => {
        hooks.push({ key: req.headers['idempotency-key'] as string | undefined, body: JSON.parse(body) as Record<string, unknown> });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    env = await testEnv('freshness', { ...process.env, ALERT_WEBHOOK_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` });
  });
  afterAll(async () => {
    if (env) await deleteSchedules(env.client, [scheduleId('orders', prefix), `${prefix}${FRESHNESS_NAME}`]);
    await shop?.stop();
    data?.remove();
    await env?.close();
    await new Promise((r) => server?.close(r));
  });

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

  it('the real orders schedule paused past a short SLA: the freshness schedule raises stale and sends it to the webhook; resumed, it clears it and sends resolved', async () => {
    // The real orders pipeline, against the shop simulator's API (windows this recent hold no orders: empty loads, which still count).
    data = await taggedDataset(`${prefix}d`, { days: 1, scale: 0.01 });
    shop = await startShop({ config: env.config, dataDir: data.dir, api: { port: 0 }, database: false, kafka: false, drops: false });
    env.deps.ordersApi = { ...env.deps.ordersApi, url: shop.apiUrl ?? '' };
    const ordersId = scheduleId('orders', prefix);
    const freshnessId = `${prefix}${FRESHNESS_NAME}`;
    const ctx = { taskQueue: env.taskQueue, idPrefix: prefix, workflowIdPrefix: `scheduled/${prefix}`, startPaused: true, pipelines: ['orders'] as const, monitor: false, churn: false, freshness: false };
    const newestWindow = async () => (await env.deps.staging.query<{ at: Date | null }>(`select max(partition_end) at from etl.loads where pipeline = 'orders' and status = 'succeeded'`)).rows[0]?.at ?? null;
    /** Triggers the freshness schedule (as its 5-minute tick would) and returns that run's result. */
    const checkBySchedule = async (): Promise<CheckFreshnessOutput> => {
      const before = (await env.client.schedule.getHandle(freshnessId).describe()).info.recentActions.length;
      await triggerSchedule(env.client, freshnessId);
      const action = await until('the freshness run', async () => (await env.client.schedule.getHandle(freshnessId).describe()).info.recentActions[before]);
      return env.client.workflow.getHandle<typeof freshnessWorkflow>(action.action.workflow.workflowId).result();
    };
    const staleRows = async () => (await env.deps.staging.query<{ alert_id: string; delivered_at: Date | null; cleared_at: Date | null; clear_delivered_at: Date | null }>(
      `select alert_id, delivered_at, cleared_at, clear_delivered_at from etl.alerts where kind = 'stale' and pipeline = 'orders' and workflow_id like $1`, [`scheduled/${prefix}%`])).rows;

    await env.withWorker(async () => {
      // The first test's hand-made windows go; the newest window is then the schedule's, loaded 12-22 minutes ago.
      await env.deps.staging.query(`delete from etl.loads where load_id like 'orders/test-freshness-%'`);
      // The schedule, created paused, runs one tick of 10-20 minutes ago (a schedule backfill runs while paused), then stays paused.
      await applySchedules(env.client, ctx);
      await pauseSchedules(env.client, [ordersId], 'freshness test: the orders schedule stopped');
      await env.client.schedule.getHandle(ordersId).backfill({ start: new Date(Date.now() - 20 * 60_000), end: new Date(Date.now() - 10 * 60_000), overlap: 'ALLOW_ALL' });
      const first = await until('a window loaded by the schedule', async () => ((await newestWindow())?.getTime() ?? 0) > Date.now() - 60 * 60_000 ? await newestWindow() : undefined) as Date;
      // An SLA 20 s longer than the newest window's age: fresh now, stale 20 s later.
      const slaMinutes = Math.ceil((Date.now() - first.getTime() + 20_000) / 600) / 100;
      await applySchedules(env.client, { ...ctx, freshness: true, freshnessMinutes: { orders: slaMinutes } });
      const fresh = await checkBySchedule();
      expect(fresh.targets.find((t) => t.target === 'orders')).toMatchObject({ state: 'fresh', slaMinutes });

      await new Promise((r) => setTimeout(r, Math.max(0, first.getTime() + slaMinutes * 60_000 + 1000 - Date.now())));
      const late = await checkBySchedule();
      expect(late.targets.find((t) => t.target === 'orders')?.state).toBe('stale');
      expect(late.raised).toHaveLength(1);
      const alertId = late.raised[0] as string;
      await until('the stale alert sent to the webhook', async () => hooks.some((h) => h.key === alertId) || undefined);
      expect(hooks.find((h) => h.key === alertId)?.body).toMatchObject({ alertId, status: 'firing', kind: 'stale', pipeline: 'orders' });

      // Resumed: unpaused, and the tick missed while it was paused run (not waited for: a schedule
      // backfill of the last 10 minutes), which loads the newest closed window, 10 minutes newer than the first.
      await unpauseSchedules(env.client, [ordersId]);
      await env.client.schedule.getHandle(ordersId).backfill({ start: new Date(Date.now() - 10 * 60_000), end: new Date(), overlap: 'ALLOW_ALL' });
      await until('a newer window loaded', async () => ((await newestWindow())?.getTime() ?? 0) > first.getTime() || undefined);
      const caughtUp = await checkBySchedule();
      expect(caughtUp.targets.find((t) => t.target === 'orders')?.state).toBe('fresh');
      expect(caughtUp.cleared).toContain(alertId);
      await until('the clearing sent to the webhook', async () => hooks.some((h) => h.key === `${alertId}/resolved`) || undefined);
      expect(hooks.find((h) => h.key === `${alertId}/resolved`)?.body).toMatchObject({ alertId, status: 'resolved', kind: 'stale', pipeline: 'orders' });
      // The delivery is recorded after the webhook answered: the row may lag the webhook by a moment.
      const row = await until('the clearing recorded as delivered', async () => (await staleRows()).find((r) => r.alert_id === alertId && r.clear_delivered_at !== null));
      expect(row?.delivered_at).toBeInstanceOf(Date);
      expect(row?.cleared_at).toBeInstanceOf(Date);
      expect(row?.clear_delivered_at).toBeInstanceOf(Date);
      // Checked again: nothing more is raised, cleared or sent.
      const quiet = await checkBySchedule();
      expect(quiet).toMatchObject({ raised: [], cleared: [] });
      await new Promise((r) => setTimeout(r, 1000));
      expect(hooks.filter((h) => h.key === alertId || h.key === `${alertId}/resolved`)).toHaveLength(2);
    });
  });
});
