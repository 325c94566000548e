/**
 * The orders pipeline end to end: the simulator's orders API (in-process, free port) serving a
 * generated dataset of this test's own dates, the real Temporal, S3, and a staging PostgreSQL
 * database of this file's own (so the live cursor is the test's to assert). The partition is the
 * dataset's whole day, so the manifest's counts apply to it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ordersPipelineWorkflow } from '../../workflows';
import { partitionsBetween, type PartitionInput, type PartitionOutput } from '../../workflows/partitions';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createOrdersActivities, type ExtractOrdersOutput } from '../../activities/orders';
import { safeName } from '../../lib/lake';
import { getObjectText, listObjects } from '../../lib/s3';
import { startShop, type Shop } from '../../shop/simulator/start-shop';
import { testEnv, type TestEnv } from '../support/env';
import { checksum, testDataset, type TestDataset } from '../support/ingest-dataset';

const TOKEN = 'ingest-orders-token';
// Invalid versions served on top of the dataset's (the generator plants none in orders).
const PLANTED = [
  { order_id: 'OBAD1', user_id: 'U1', status: 'lost', lines: [] },
  { order_id: 'OBAD2', user_id: 'U1', status: 'paid', lines: [{ product_id: 'P1001', quantity: 0, unit_price: '1.00' }] },
  { order_id: 'OBAD3', user_id: 'U1', status: 'paid', lines: [{ product_id: 'P1001', quantity: 1, unit_price: '-2' }] },
  { order_id: 'OBAD4', user_id: null, status: 'paid', lines: [] },
];

const sum = (o: PartitionOutput, k: 'received' | 'loaded' | 'quarantined' | 'duplicates') => o.loads.reduce((a, l) => a + l[k], 0);

describe('orders pipeline (simulator API, real Temporal, PostgreSQL, S3)', () => {
  let env: TestEnv;
  let data: TestDataset;
  let shop: Shop;
  let faulty: Shop;
  let window: PartitionInput;
  let first: PartitionOutput;
  const wf = (prefix: string) => `${prefix}/${window.partitionStart}`;
  const api = (s: Shop, token = TOKEN) => ({ url: s.apiUrl ?? '', token, timeoutMs: 5_000, pageSize: 50 });
  const run = (workflowId: string, input: PartitionInput = window) =>
    env.withWorker(() => env.client.workflow.execute(ordersPipelineWorkflow, { taskQueue: env.taskQueue, workflowId, args: [input] }));
  const staged = (prefix: string, withLoad: boolean) => checksum(env.deps.staging,
    `select o.order_id, o.updated_at, o.user_id, o.status, o.created_at, ${withLoad ? 'o.load_id, o.ingested_at,' : ''}
       (select json_agg(json_build_array(l.line_no, l.product_id, l.quantity, l.unit_price${withLoad ? ', l.load_id, l.ingested_at' : ''}) order by l.line_no)
        from staging.order_lines l where l.order_id = o.order_id and l.updated_at = o.updated_at) as lines
     from staging.orders o where o.load_id like $1`, 'order_id, updated_at', [`${prefix}/orders/page-%`]);

  beforeAll(async () => {
    env = await testEnv('ingest-orders');
    data = await testDataset({ days: 1, scale: 0.05 });
    window = { partitionStart: data.manifest.range.start, partitionEnd: data.manifest.range.end, backfill: true };
    const channels = { database: false, kafka: false, drops: false } as const;
    shop = await startShop({ config: env.config, dataDir: data.dir, api: { port: 0, token: TOKEN }, ...channels });
    faulty = await startShop({ config: env.config, dataDir: data.dir, api: { port: 0, token: TOKEN, faults: { seed: 5, rateLimitRate: 0.1, serverErrorRate: 0.1, retryAfterSeconds: 1 } }, ...channels });
    // The dataset reader refuses invalid orders, so they go straight into the served index.
    const at = (h: number) => Date.parse(window.partitionStart) + h * 3_600_000;
    for (const s of [shop, faulty]) {
      PLANTED.forEach((o, i) => s.index.add(at(i + 1), o.order_id, JSON.stringify({ ...o, created_at: new Date(at(i + 1)).toISOString(), updated_at: new Date(at(i + 1)).toISOString() })));
    }
    env.deps.ordersApi = api(shop);
  });
  afterAll(async () => {
    await shop?.stop();
    await faulty?.stop();
    await env?.close();
    data?.remove();
  });

  it('stages the window: received = loaded + quarantined + duplicates, as the manifest planted', async () => {
    const began = performance.now();
    first = await run(wf('orders'));
    const seconds = (performance.now() - began) / 1000;
    const m = data.manifest.files['orders.jsonl'];
    expect(m).toBeDefined();
    expect(first.loads.length).toBeGreaterThan(1);
    for (const l of first.loads) expect(l.received).toBe(l.loaded + l.quarantined + l.duplicates);
    expect(sum(first, 'received')).toBe((m?.rows ?? 0) + PLANTED.length);
    expect(sum(first, 'quarantined')).toBe((m?.invalid ?? 0) + PLANTED.length);
    expect(sum(first, 'duplicates')).toBe(m?.duplicates);
    expect(sum(first, 'duplicates')).toBeGreaterThan(0);
    console.log(`orders: ${sum(first, 'received')} versions, ${first.loads.length} pages in ${seconds.toFixed(2)} s (workflow start to result): ${(sum(first, 'received') / seconds).toFixed(0)} versions/s, ${(first.loads.length / seconds).toFixed(1)} pages/s`);

    const { rows: loads } = await env.deps.staging.query('select status, received, loaded, quarantined, duplicates from etl.loads where load_id like $1', [`${wf('orders')}/orders/page-%`]);
    expect(loads).toHaveLength(first.loads.length);
    expect(loads.every((l) => l.status === 'succeeded')).toBe(true);
    expect((await staged(wf('orders'), false)).rows).toBe(sum(first, 'loaded'));
    const lines = await env.deps.staging.query<{ n: string }>('select count(*) as n from staging.order_lines where load_id like $1', [`${wf('orders')}/orders/page-%`]);
    expect(Number(lines.rows[0]?.n)).toBeGreaterThan(sum(first, 'loaded'));
  });

  it('keeps every page raw, exactly as the API sent it, and every rejected version with its reason', async () => {
    const dt = window.partitionStart.slice(0, 10);
    const page1 = `${wf('orders')}/orders/page-1`;
    const raw = await getObjectText(env.deps.s3, env.deps.bucket, `raw/orders/dt=${dt}/${safeName(page1)}.json`);
    const res = await fetch(`${shop.apiUrl}/orders?updated_since=${window.partitionStart}&updated_before=${window.partitionEnd}&limit=50`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(raw).toBe(await res.text());
    const rawKeys = (await listObjects(env.deps.s3, env.deps.bucket, `raw/orders/dt=${dt}/${safeName(`${wf('orders')}/orders/page-`)}`)).map((o) => o.key);
    expect(rawKeys).toHaveLength(first.loads.length);

    const q = await env.deps.staging.query<{ record_ref: string; reason: string }>('select record_ref, reason from etl.quarantine where load_id like $1 order by record_ref', [`${wf('orders')}/orders/page-%`]);
    expect(q.rows.map((r) => r.record_ref.split(':')[2]).sort()).toEqual(['OBAD1', 'OBAD2', 'OBAD3', 'OBAD4']);
    const lake = await listObjects(env.deps.s3, env.deps.bucket, `quarantine/orders/dt=${dt}/${safeName(`${wf('orders')}/orders/page-`)}`);
    const lakeLines = (await Promise.all(lake.map((o) => getObjectText(env.deps.s3, env.deps.bucket, o.key)))).join('').trim().split('\n').map((l) => JSON.parse(l) as { ref: string; reason: string; record: { order_id: string } });
    expect(lakeLines.map((l) => l.ref).sort()).toEqual(q.rows.map((r) => r.record_ref).sort());
    expect(lakeLines.find((l) => l.record.order_id === 'OBAD2')?.reason).toMatch(/lines\.0\.quantity: 0 is not a positive integer/);
  });

  it('is idempotent: the same partition again skips every load and leaves identical rows', async () => {
    const before = await staged(wf('orders'), true);
    const again = await run(wf('orders'));
    expect(again.loads.every((l) => l.skipped)).toBe(true);
    expect(again.loads.map(({ skipped: _s, ...l }) => l)).toEqual(first.loads);
    expect(await staged(wf('orders'), true)).toEqual(before);
  });

  it('stages the same result through 20% 429/5xx answers', async () => {
    const clean = await staged(wf('orders'), false);
    env.deps.ordersApi = api(faulty);
    try {
      const out = await run(wf('orders-faults'));
      expect(out.loads.map((l) => [l.received, l.quarantined])).toEqual(first.loads.map((l) => [l.received, l.quarantined]));
      expect(sum(out, 'loaded')).toBe(0); // the same keys are already staged by the clean run
      expect(sum(out, 'duplicates')).toBe(sum(first, 'loaded') + sum(first, 'duplicates'));
      expect(faulty.stats().api?.faults.total).toBeGreaterThan(0);
      // Compare rows, not counts: clear the clean run's rows, then stage the faulty run afresh.
      await clearLoads(wf('orders'));
      await clearLoads(wf('orders-faults'));
      const fresh = await run(`${wf('orders-faults')}-2`);
      expect(sum(fresh, 'loaded')).toBe(sum(first, 'loaded'));
      expect(await staged(`${wf('orders-faults')}-2`, false)).toEqual(clean);
    } finally {
      env.deps.ordersApi = api(shop);
    }
  });

  it('fails at once, non-retryably, on a wrong token, saying which variable to set', async () => {
    env.deps.ordersApi = api(shop, 'not-the-token');
    try {
      const err = await run(wf('orders-401')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause?.cause as { message: string; nonRetryable: boolean; type: string } | undefined;
      expect(cause?.message).toMatch(/rejected the token \(401\): set ORDERS_API_TOKEN/);
      expect(cause?.message).not.toMatch(/not-the-token/);
      expect(cause?.nonRetryable).toBe(true);
      expect(cause?.type).toBe('Http401');
    } finally {
      env.deps.ordersApi = api(shop);
    }
  });

  it('moves the live cursor on a scheduled run to exactly the window end; the backfills before it left it alone', async () => {
    const scheduled = { ...window, backfill: false };
    await clearLoads(`${wf('orders-faults')}-2`);
    const before = await liveCursor();
    const out = await run(wf('orders-live'), scheduled);
    expect(sum(out, 'loaded')).toBe(sum(first, 'loaded'));
    expect(before).toBeNull();
    expect(await liveCursor()).toEqual({ cursor_column: 'updated_at', last_value: new Date(window.partitionEnd).toISOString() });
  });

  it('a rerun after a late version arrived in the window loads it, counting the rest as duplicates', async () => {
    const at = Date.parse(window.partitionStart) + 60_000; // early in the window: every page shifts
    const iso = new Date(at).toISOString();
    const late = { order_id: `OLATE${data.tag}`, user_id: 'U1', status: 'placed', created_at: iso, updated_at: iso, lines: [{ product_id: 'P1001', quantity: 1, unit_price: '1.00' }] };
    shop.index.add(at, late.order_id, JSON.stringify(late));
    const out = await run(wf('orders-live'), { ...window, backfill: false });
    for (const l of out.loads) expect(l.received).toBe(l.loaded + l.quarantined + l.duplicates);
    expect(out.loads.filter((l) => l.loadId.includes('/changed-')).length).toBeGreaterThan(0);
    expect(sum(out, 'received')).toBe(sum(first, 'received') + 1);
    expect(sum(out, 'loaded')).toBe(1);
    const { rows } = await env.deps.staging.query<{ load_id: string }>('select load_id from staging.orders where order_id = $1', [late.order_id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.load_id).toMatch(new RegExp(`^${wf('orders-live').replace(/[.]/g, '\\.')}/orders/page-1/changed-[0-9a-f]{16}$`));
  });

  it('partitions of the real cadence cover the window without gap or overlap', async () => {
    const hour = Date.parse(window.partitionStart) + 6 * 3_600_000;
    const parts = partitionsBetween('orders', new Date(hour), new Date(hour + 3_600_000));
    expect(parts).toHaveLength(6);
    const outs = [];
    for (const p of parts) outs.push(await run(`orders-cadence/${p.partitionStart}`, { ...p, backfill: true }));
    const served = (await readPages(new Date(hour).toISOString(), new Date(hour + 3_600_000).toISOString())).reduce((a, p) => a + p.data.length, 0);
    expect(served).toBeGreaterThan(0);
    expect(outs.reduce((a, o) => a + sum(o, 'received'), 0)).toBe(served);
    for (const o of outs) expect(sum(o, 'loaded')).toBe(0); // the day-wide runs staged them all already
  });

  it('a retried attempt resumes at the page its heartbeat recorded', async () => {
    const pages = await readPages(window.partitionStart, window.partitionEnd, 2);
    const cursor = pages[1]?.next_cursor ?? null;
    expect(cursor).not.toBeNull();
    const before = shop.stats().api?.requests ?? 0;
    const activities = createOrdersActivities(env.deps);
    const resumed = { page: 3, cursor, loads: [], requests: 0, rateLimited: 0, failures: 0 };
    const out = await new MockActivityEnvironment({ heartbeatDetails: resumed }).run(activities.extractOrders, { ...window, workflowId: wf('orders-resume') }) as ExtractOrdersOutput;
    expect(out.loads[0]?.loadId).toBe(`${wf('orders-resume')}/orders/page-3`);
    expect((shop.stats().api?.requests ?? 0) - before).toBe(out.loads.length);
    expect(out.loads.length).toBe((await readPages(window.partitionStart, window.partitionEnd)).length - 2);
  });

  it('a retry whose predecessor loaded pages hands them over at once; one whose predecessor loaded none works on', async () => {
    const pages = await readPages(window.partitionStart, window.partitionEnd, 2);
    const cursor = pages[1]?.next_cursor ?? null;
    const activities = createOrdersActivities(env.deps);
    const loads = [{ loadId: 'x/page-1', received: 1, loaded: 1, quarantined: 0, duplicates: 0, source: 'orders_api' }];
    const progressed = { page: 3, cursor, loads, requests: 2, rateLimited: 0, failures: 0, attemptFrom: 1 };
    const before = shop.stats().api?.requests ?? 0;
    const handed = await new MockActivityEnvironment({ heartbeatDetails: progressed, attempt: 2 }).run(activities.extractOrders, { ...window, workflowId: wf('orders-handover'), handOver: true }) as ExtractOrdersOutput;
    expect(handed.resume).toEqual(progressed);
    expect(handed.pages).toBe(1);
    expect((shop.stats().api?.requests ?? 0) - before).toBe(0);
    // The workflow's next call goes on from the hand-over, a fresh activity at attempt 1.
    const next = await new MockActivityEnvironment().run(activities.extractOrders, { ...window, workflowId: wf('orders-handover'), handOver: true, resume: handed.resume }) as ExtractOrdersOutput;
    expect(next.resume).toBeUndefined();
    expect(next.loads[0]).toEqual(loads[0]);
    expect(next.loads[1]?.loadId).toBe(`${wf('orders-handover')}/orders/page-3`);
    // No page loaded since the attempt before started: a failure in a row, which counts; it works on.
    const stuck = await new MockActivityEnvironment({ heartbeatDetails: { ...progressed, attemptFrom: 3 }, attempt: 2 }).run(activities.extractOrders, { ...window, workflowId: wf('orders-stuck'), handOver: true }) as ExtractOrdersOutput;
    expect(stuck.resume).toBeUndefined();
    expect(stuck.loads[1]?.loadId).toBe(`${wf('orders-stuck')}/orders/page-3`);
    // A caller of an older version (no handOver) is never handed a partial run.
    const old = await new MockActivityEnvironment({ heartbeatDetails: progressed, attempt: 2 }).run(activities.extractOrders, { ...window, workflowId: wf('orders-old') }) as ExtractOrdersOutput;
    expect(old.resume).toBeUndefined();
    expect(old.loads.length).toBeGreaterThan(1);
    // The window's last page loaded, then the attempt died before returning: the retry returns the run as it was.
    const finished = { page: 99, cursor: null, loads: next.loads, requests: 9, rateLimited: 0, failures: 0, attemptFrom: 3, done: true };
    const again = await new MockActivityEnvironment({ heartbeatDetails: finished, attempt: 2 }).run(activities.extractOrders, { ...window, workflowId: wf('orders-handover'), handOver: true }) as ExtractOrdersOutput;
    expect(again.resume).toBeUndefined();
    expect(again.loads).toEqual(next.loads);
  });

  it('ends a run whose API hands out the same cursor again, non-retryably, naming it', async () => {
    let served = 0;
    const looping = createServer((_req, res) => {
      served++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[],"next_cursor":"loop-1"}');
    });
    await new Promise<void>((r) => looping.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(looping.address() as AddressInfo).port}`;
      const activities = createOrdersActivities({ ...env.deps, ordersApi: { url, token: TOKEN, timeoutMs: 5_000 } });
      const err = await new MockActivityEnvironment().run(activities.extractOrders, { ...window, workflowId: wf('orders-cursor-loop') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect(err).toMatchObject({ nonRetryable: true, type: 'BadData' });
      expect((err as Error).message).toMatch(/^orders partition .*, page 2 .*cursor "loop-1" again, after page 2/);
      expect(served).toBe(2);
    } finally {
      looping.closeAllConnections();
      await new Promise<void>((r) => looping.close(() => r()));
    }
  }, 60_000);

  /** Reads the clean API directly: every page of [since, before), or the first maxPages. */
  async function readPages(since: string, before: string, maxPages = Infinity): Promise<Array<{ data: unknown[]; next_cursor: string | null }>> {
    const pages: Array<{ data: unknown[]; next_cursor: string | null }> = [];
    let cursor: string | null = null;
    do {
      const res = await fetch(`${shop.apiUrl}/orders?updated_since=${since}&updated_before=${before}&limit=50${cursor ? `&cursor=${cursor}` : ''}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      const page = (await res.json()) as { data: unknown[]; next_cursor: string | null };
      pages.push(page);
      cursor = page.next_cursor;
    } while (cursor && pages.length < maxPages);
    return pages;
  }

  /** The orders live cursor of this file's staging database; null before any scheduled run. */
  async function liveCursor(): Promise<{ cursor_column: string; last_value: string } | null> {
    const { rows } = await env.deps.staging.query<{ cursor_column: string; last_value: string }>("select cursor_column, last_value from etl.cursors where pipeline = 'orders' and source = 'orders_api'");
    return rows[0] ?? null;
  }

  async function clearLoads(workflowId: string): Promise<void> {
    const like = [`${workflowId}/orders/page-%`];
    await env.deps.staging.query('delete from staging.order_lines where load_id like $1', like);
    await env.deps.staging.query('delete from staging.orders where load_id like $1', like);
    await env.deps.staging.query('delete from etl.quarantine where load_id like $1', like);
    await env.deps.staging.query('delete from etl.loads where load_id like $1', like);
  }
});
