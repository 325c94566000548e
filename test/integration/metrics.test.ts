/**
 * A worker's Prometheus /metrics after a real run (issue 16, docs/operations.md): `etl worker` as a
 * child process with /metrics on a free port runs the orders pipeline against the simulator's API;
 * the scraped counters equal etl.loads, the scrape-time gauges and the Temporal SDK's own metrics are
 * there, and no label carries an id.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ordersPipelineWorkflow } from '../../workflows';
import { startShop, type Shop } from '../../shop/simulator/start-shop';
import { testEnv, type TestEnv } from '../support/env';
import { testDataset, type TestDataset } from '../support/ingest-dataset';
import { startWorkerProcess } from '../support/wait';
import { insertAlert } from '../../activities/common/alerts';

const TOKEN = 'metrics-test-token';

/** A free port whose next one is free too (the SDK's exporter takes it). */
async function freePortPair(): Promise<number> {
  const listen = (port: number) => new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  for (;;) {
    const p = await listen(0);
    if (p < 65535 && (await listen(p + 1).then(() => true, () => false))) return p;
  }
}

/** `name{labels} value` lines of a Prometheus text body, by name. */
function samples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `)).map((l) => {
    const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(l);
    const labels = Object.fromEntries([...(m?.[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    return { labels, value: Number(m?.[2]) };
  });
}

describe('worker /metrics after a real run (real Temporal, PostgreSQL, S3; the simulator API)', () => {
  let env: TestEnv;
  let data: TestDataset;
  let shop: Shop;
  let worker: ChildProcess;
  let port: number;

  beforeAll(async () => {
    env = await testEnv('metrics');
    data = await testDataset({ days: 1, scale: 0.05 });
    shop = await startShop({ config: env.config, dataDir: data.dir, api: { port: 0, token: TOKEN }, database: false, kafka: false, drops: false });
    port = await freePortPair();
    worker = await startWorkerProcess(env.taskQueue, {
      metricsPort: port,
      env: { ...process.env, ORDERS_API_URL: shop.apiUrl ?? '', ORDERS_API_TOKEN: TOKEN, ORDERS_API_PAGE_SIZE: '50' },
    });
  }, 180_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      await exited;
    }
    await shop?.stop();
    await env?.close();
    data?.remove();
  });

  it('counts rows and loads as etl.loads records them, with freshness, lag and the SDK\'s metrics, and no id as a label', async () => {
    const out = await env.client.workflow.execute(ordersPipelineWorkflow, {
      taskQueue: env.taskQueue, workflowId: `orders/metrics-${env.taskQueue}`, args: [{ partitionStart: data.manifest.range.start, partitionEnd: data.manifest.range.end, backfill: true }],
    });
    expect(out.loads.length).toBeGreaterThan(1);
    await insertAlert(env.deps.staging, { alertId: `test/metrics/${env.taskQueue}`, pipeline: 'orders', kind: 'failed', message: 'planted by the metrics test', workflowId: 'w', runId: 'r' });
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();

    const { rows } = await env.deps.staging.query<{ pipeline: string; source: string; received: string; loaded: string; quarantined: string; duplicates: string; loads: string }>(
      `select pipeline, source, sum(received)::text as received, sum(loaded)::text as loaded, sum(quarantined)::text as quarantined, sum(duplicates)::text as duplicates, count(*)::text as loads
       from etl.loads where status = 'succeeded' group by 1, 2 order by 1, 2`);
    expect(rows.length).toBeGreaterThan(0);
    const rowsTotal = samples(text, 'etl_rows_total');
    const value = (pipeline: string, source: string, outcome: string) => rowsTotal.find((s) => s.labels.pipeline === pipeline && s.labels.source === source && s.labels.outcome === outcome)?.value;
    for (const r of rows) {
      expect({ pipeline: r.pipeline, source: r.source, received: value(r.pipeline, r.source, 'received'), loaded: value(r.pipeline, r.source, 'loaded'), quarantined: value(r.pipeline, r.source, 'quarantined'), duplicate: value(r.pipeline, r.source, 'duplicate') })
        .toEqual({ pipeline: r.pipeline, source: r.source, received: Number(r.received), loaded: Number(r.loaded), quarantined: Number(r.quarantined), duplicate: Number(r.duplicates) });
      expect(samples(text, 'etl_loads_total').find((s) => s.labels.pipeline === r.pipeline && s.labels.source === r.source && s.labels.status === 'succeeded')?.value).toBe(Number(r.loads));
      expect(samples(text, 'etl_load_duration_seconds_count').find((s) => s.labels.pipeline === r.pipeline && s.labels.source === r.source)?.value).toBe(Number(r.loads));
    }
    // Scrape-time gauges: the orders target's newest data is the end of the window loaded, years ago
    // (the test's dates), so it is stale against the default 20 minutes; Kafka answered.
    const { rows: [end] } = await env.deps.staging.query<{ age: number }>(`select extract(epoch from now() - max(partition_end))::float8 as age from etl.loads where pipeline = 'orders' and status = 'succeeded'`);
    expect(samples(text, 'etl_freshness_sla_seconds').find((s) => s.labels.target === 'orders')?.value).toBe(1200);
    expect(Math.abs(samples(text, 'etl_freshness_seconds').find((s) => s.labels.target === 'orders')!.value - end!.age)).toBeLessThan(30);
    expect(samples(text, 'etl_stale').find((s) => s.labels.target === 'orders')?.value).toBe(1);
    expect(samples(text, 'etl_scrape_errors').filter((s) => s.value !== 0)).toEqual([]);
    expect(samples(text, 'etl_kafka_consumer_lag_messages').length).toBeGreaterThan(0);
    // The Temporal SDK's runtime metrics, from its exporter, in the same scrape.
    expect(text).toMatch(/^temporal_[a-z_]+(_total|_seconds_bucket)?\{/m);
    // The Grafana dashboard (docker/grafana/dashboards/shop-etl.json) plots only what is scraped, by labels it has.
    const dashboard = JSON.parse(readFileSync(join(__dirname, '..', '..', 'docker', 'grafana', 'dashboards', 'shop-etl.json'), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    for (const name of new Set(exprs.flatMap((e) => e.match(/\b(etl|temporal)_[a-z_]+/g) ?? []))) {
      expect(text, `${name}, plotted by the Grafana dashboard`).toMatch(new RegExp(`^${name}[{ ]`, 'm'));
    }
    for (const [name, label] of exprs.flatMap((e) => [...e.matchAll(/\b((?:etl|temporal)_[a-z_]+)\{([a-z_]+)=/g)].map((m) => [m[1]!, m[2]!] as const))) {
      expect(samples(text, name).some((x) => label in x.labels), `${name} has a ${label} label`).toBe(true);
    }
    for (const [labels, name] of exprs.flatMap((e) => [...e.matchAll(/by \(([a-z_, ]+)\) \((?:rate|increase)?\(?((?:etl|temporal)_[a-z_]+)/g)].map((m) => [m[1]!, m[2]!] as const))) {
      for (const label of labels.split(',').map((l) => l.trim()).filter((l) => l !== 'le')) {
        expect(samples(text, name).some((x) => label in x.labels), `${name} has a ${label} label`).toBe(true);
      }
    }
    // Bounded labels: no label value is a user, order, event or session id.
    const values = text.split('\n').filter((l) => l.startsWith('etl_')).flatMap((l) => [...l.matchAll(/="([^"]*)"/g)].map((m) => m[1]!));
    expect(values.filter((v) => /^[UOESH]\d+$/.test(v))).toEqual([]);
  });
});
