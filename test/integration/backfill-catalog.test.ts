/**
 * The backfill with the real catalog pipeline: a day of a generated shop, served from a private
 * schema of the shared shop database, backfilled in 48 partitions and then backfilled again.
 * The second run must leave staging and etl.loads exactly as they were.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadShopDatabase } from '../../shop/simulator/shop-database';
import { backfillWorkflow } from '../../workflows/backfill';
import { planBackfill } from '../../workflows/backfill-plan';
import { testEnv, type TestEnv } from '../support/env';
import { checksum, testDataset, type TestDataset } from '../support/ingest-dataset';

const SOURCES = ['products', 'users', 'inventory', 'reviews'] as const;

describe('backfill of the real catalog pipeline (shop database, real Temporal, PostgreSQL, S3)', () => {
  let env: TestEnv;
  let data: TestDataset;
  let owner: Pool;
  let reader: Pool;
  const schema = `orch_catalog_${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    env = await testEnv('backfill-catalog');
    data = await testDataset({ days: 1, scale: 0.03, seed: 23 });
    // Review ids are the whole staging key: make them this run's own.
    const reviews = join(data.dir, 'reviews.csv');
    writeFileSync(reviews, readFileSync(reviews, 'utf8').replace(/^R(\d+),/gm, `R${data.tag}o$1,`));
    const url = (role: string) => env.config.SHOP_OWNER_DATABASE_URL.replace(/\/\/shop_owner:shop_owner_dev@/, `//${role}@`);
    owner = new Pool({ connectionString: env.config.SHOP_OWNER_DATABASE_URL, options: `-c search_path=${schema}`, max: 2 });
    reader = new Pool({ connectionString: url('etl_shop_reader:etl_shop_reader_dev'), options: `-c search_path=${schema}`, max: 4 });
    await owner.query(`create schema ${schema}`);
    await owner.query(readFileSync(join(__dirname, '../../sql/shop/001_shop.sql'), 'utf8').replace(/^grant .*$/gm, ''));
    await owner.query(`grant usage on schema ${schema} to etl_shop_reader; grant select on all tables in schema ${schema} to etl_shop_reader`);
    await loadShopDatabase({ pool: owner, dataDir: data.dir, asOf: new Date(data.manifest.range.end) });
    env.deps.shop = reader;
  });
  afterAll(async () => {
    await owner?.query(`drop schema if exists ${schema} cascade`);
    await Promise.allSettled([owner?.end(), reader?.end()]);
    await env?.close();
    data?.remove();
  });

  it('loads every partition of the day, and a second backfill changes nothing', async () => {
    const from = data.manifest.range.start;
    const to = new Date(Date.parse(from) + 86_400_000).toISOString();
    const ids = planBackfill(['catalog'], from, to).map((p) => p.workflowId);
    const loadIds = ids.flatMap((id) => SOURCES.map((s) => `${id}/${s}`));
    const snapshot = () => Promise.all([
      ...SOURCES.map((s) => checksum(env.deps.staging, `select * from staging.${s} where load_id = any($1)`, 'load_id, t::text', [loadIds])),
      checksum(env.deps.staging, 'select load_id, status, received, loaded, quarantined, duplicates, finished_at from etl.loads where load_id = any($1)', 'load_id', [loadIds]),
    ]);
    const input = { pipelines: ['catalog' as const], from, to, concurrency: 4 };
    const workflowId = `backfill-test/catalog/${from}`;
    const began = performance.now();
    const first = await env.withWorker(() => env.client.workflow.execute(backfillWorkflow, { taskQueue: env.taskQueue, workflowId, args: [input] }));
    const seconds = (performance.now() - began) / 1000;
    expect(first).toMatchObject({ total: 48, completed: 48, failed: 0 });
    const before = await snapshot();
    const loads = before.at(-1);
    expect(loads?.rows).toBe(48 * 4);
    const staged = before.slice(0, 4).reduce((a, c) => a + c.rows, 0);
    expect(staged).toBeGreaterThan(0);
    console.log(`backfill of catalog, 48 partitions at concurrency 4: ${seconds.toFixed(1)} s, ${staged} staged rows`);

    const second = await env.withWorker(() => env.client.workflow.execute(backfillWorkflow, { taskQueue: env.taskQueue, workflowId, args: [input] }));
    expect(second).toMatchObject({ total: 48, completed: 48, failed: 0 });
    expect(await snapshot()).toEqual(before);
  });

  it('a coalesced backfill loads the day as one run with the same rows as its 48 partitions, and says it covered 48', async () => {
    const from = data.manifest.range.start;
    const to = new Date(Date.parse(from) + 86_400_000).toISOString();
    const partitionLoads = planBackfill(['catalog'], from, to).flatMap((p) => SOURCES.map((s) => `${p.workflowId}/${s}`));
    const [run] = planBackfill(['catalog'], from, to, { catalog: 48 });
    expect(run?.workflowId).toBe(`catalog/${from}..${to}`);
    const runLoads = SOURCES.map((s) => `${run?.workflowId}/${s}`);
    // What was staged, without the load that staged it.
    const content = (loadIds: string[]) => Promise.all(SOURCES.map((s) => checksum(env.deps.staging,
      `select to_jsonb(x) - 'load_id' - 'ingested_at' as t from staging.${s} x where load_id = any($1)`, 't::text', [loadIds])));
    const byPartition = await content(partitionLoads);
    expect(byPartition.reduce((a, c) => a + c.rows, 0)).toBeGreaterThan(0);
    for (const s of SOURCES) await env.deps.staging.query(`delete from staging.${s} where load_id = any($1)`, [partitionLoads]);

    const out = await env.withWorker(() => env.client.workflow.execute(backfillWorkflow, {
      taskQueue: env.taskQueue, workflowId: `backfill-test/catalog-coalesced/${from}`, args: [{ pipelines: ['catalog'], from, to, concurrency: 4, runSizes: { catalog: 48 } }],
    }));
    expect(out).toMatchObject({ total: 1, completed: 1, failed: 0, partitions: { total: 48, completed: 48, failed: 0 } });
    expect(await content(runLoads)).toEqual(byPartition);
    const { rows } = await env.deps.staging.query<{ n: number }>(
      'select count(*)::int as n from etl.loads where load_id = any($1) and partition_start = $2 and partition_end = $3', [runLoads, from, to]);
    expect(rows[0]?.n).toBe(4);
  });
});
