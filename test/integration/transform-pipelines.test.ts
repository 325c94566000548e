/**
 * The transform fed by the REAL ingestion workflows (catalog, orders, files, events) from the shop
 * simulator, each isolated: a private shop schema, an orders API on a free port, a Kafka topic and
 * consumer group, a drop prefix, and every id of the dataset tagged so no row is shared with
 * another run. Then the hourly transform, and the contract metrics against the files, to the cent.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../shop/dataset/manifest';
import { generateDataset } from '../../shop/generator';
import { startShop, type Shop } from '../../shop/simulator/start-shop';
import { catalogPipelineWorkflow, eventsStreamWorkflow, filesPipelineWorkflow, ordersPipelineWorkflow, stopEventsSignal, transformWorkflow } from '../../workflows';
import { partitionAt } from '../../workflows/partitions';
import { testEnv, type TestEnv } from '../support/env';
import { expectContract, expectedMetrics, freshTestDay, type Expected } from '../support/transform-expected';

/** Prefixes every generated id (users, products, orders, purchase orders, events, sessions, reviews). */
function tagIds(dir: string, tag: string): void {
  const files = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? files(join(d, f)) : [join(d, f)]));
  for (const f of files(dir).filter((f) => !f.endsWith('manifest.json'))) {
    writeFileSync(f, readFileSync(f, 'utf8').replace(/\b(U\d{6}|P\d{4,}|O\d{6,}|H\d{6,}|E\d+|S\d+|R\d+)\b/g, `${tag}$1`));
  }
}

describe('transform fed by the real ingestion pipelines (simulator, Temporal, PostgreSQL, Kafka, S3)', () => {
  let env: TestEnv;
  let shop: Shop;
  let owner: Pool;
  let reader: Pool;
  let dir: string;
  let manifest: Manifest;
  let ex: Expected;
  const tag = `tp${randomUUID().slice(0, 6)}`;
  const schema = `transform_${tag}`;
  const topic = `test.transform.${tag}`;
  const dropPrefix = `test/transform/${tag}/drop/purchases/`;

  beforeAll(async () => {
    env = await testEnv('transform-pipelines');
    const day = await freshTestDay(env.deps.analytics);
    dir = mkdtempSync(join(tmpdir(), 'etl-transform-pipelines-'));
    ({ manifest } = await generateDataset({ seed: 13, start: day, days: 1, scale: 0.02, dirt: 'default', out: dir }));
    tagIds(dir, tag);
    ex = expectedMetrics(dir, '');
    owner = new Pool({ connectionString: env.config.SHOP_OWNER_DATABASE_URL, options: `-c search_path=${schema}`, max: 2 });
    reader = new Pool({ connectionString: env.config.SHOP_OWNER_DATABASE_URL.replace(/\/\/shop_owner:shop_owner_dev@/, '//etl_shop_reader:etl_shop_reader_dev@'), options: `-c search_path=${schema}`, max: 4 });
    await owner.query(`create schema ${schema}`);
    await owner.query(readFileSync(join(__dirname, '../../sql/shop/001_shop.sql'), 'utf8').replace(/^grant .*$/gm, ''));
    await owner.query(`grant usage on schema ${schema} to etl_shop_reader; grant select on all tables in schema ${schema} to etl_shop_reader`);
    shop = await startShop({ config: env.config, dataDir: dir, api: { port: 0 }, database: { pool: owner }, kafka: { topic }, drops: { prefix: dropPrefix, allNow: true } });
    await shop.replayed;
    env.deps.shop = reader;
    env.deps.ordersApi = { ...env.deps.ordersApi, url: shop.apiUrl ?? '' };
  }, 300_000);
  afterAll(async () => {
    await shop?.stop();
    await owner?.query(`drop schema if exists ${schema} cascade`);
    await Promise.allSettled([owner?.end(), reader?.end()]);
    await env?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ingests through catalog, orders, files and events workflows; the transform then matches the files to the cent', async () => {
    const expectedEvents = [...ex.traffic.values()].reduce((a, b) => a + b, 0);
    const { range } = manifest;
    await env.withWorker(async () => {
      const opts = (workflowId: string) => ({ taskQueue: env.taskQueue, workflowId });
      const events = await env.client.workflow.start(eventsStreamWorkflow, { ...opts(`events/${tag}`), args: [{ topic, consumerGroup: `transform-${tag}`, maxMessages: 5000, maxWaitMs: 500, idleSleepMs: 200 }] });
      const loads = await Promise.all([
        env.client.workflow.execute(catalogPipelineWorkflow, { ...opts(`catalog/${tag}`), args: [{ partitionStart: '1970-01-01T00:00:00.000Z', partitionEnd: range.end, backfill: true }] }),
        env.client.workflow.execute(ordersPipelineWorkflow, { ...opts(`orders/${tag}`), args: [{ partitionStart: range.start, partitionEnd: new Date(Date.parse(range.end) + 7 * 86_400_000).toISOString(), backfill: true }] }),
        env.client.workflow.execute(filesPipelineWorkflow, { ...opts(`files/${tag}`), args: [{ ...partitionAt('files', new Date(Date.now() + 300_000)), backfill: true, dropPrefix }] }),
      ]);
      for (const l of loads.flatMap((o) => o.loads)) expect(l.received, l.loadId).toBe(l.loaded + l.quarantined + l.duplicates);
      const deadline = Date.now() + 180_000;
      for (;;) {
        const { rows } = await env.deps.staging.query<{ n: string }>('select count(*) n from staging.events where event_id like $1', [`${tag}%`]);
        if (Number(rows[0]?.n) >= expectedEvents) break;
        if (Date.now() > deadline) throw new Error(`events stream staged ${rows[0]?.n} of ${expectedEvents} events in 180 s`);
        await new Promise((r) => setTimeout(r, 500));
      }
      await events.signal(stopEventsSignal);
      await events.result();
      const part = partitionAt('transform', new Date());
      const out = await env.client.workflow.execute(transformWorkflow, { ...opts(`transform/${part.partitionStart}/test-${tag}`), args: [part] });
      for (const l of out.loads) expect(l.received, l.loadId).toBe(l.loaded + l.quarantined + l.duplicates);
    });
    const dates = [...new Set([...ex.ordersByDate.keys(), ...[...ex.traffic.keys()].map((k) => k.slice(0, 10))])].sort();
    await expectContract(env.deps.analytics, ex, dates, tag);
  }, 600_000);
});
