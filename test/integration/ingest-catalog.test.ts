/**
 * The catalog pipeline end to end against a shop database of this test's own: a private schema in
 * the shared shop database (search_path), loaded by the simulator's loader in two steps, as the
 * shop's systems would have written it over time, and read by the etl_shop_reader role. Staging is
 * a database of this file's own too, so the live cursors are the test's to assert.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCatalogActivities, type CatalogSourceOutput } from '../../activities/catalog';
import { catalogPipelineWorkflow } from '../../workflows';
import type { PartitionInput, PartitionOutput } from '../../workflows/partitions';
import { safeName } from '../../lib/lake';
import { getObjectText } from '../../lib/s3';
import { readInventory, readProducts, readReviews, readUsers } from '../../shop/dataset/catalog-readers';
import { loadShopDatabase } from '../../shop/simulator/shop-database';
import { testEnv, type TestEnv } from '../support/env';
import { checksum, testDataset, type TestDataset } from '../support/ingest-dataset';

const SOURCES = ['products', 'users', 'inventory', 'reviews'] as const;
type Source = (typeof SOURCES)[number];
const KEYS: Record<Source, string> = { products: 'product_id, updated_at', users: 'user_id, updated_at', inventory: 'product_id, warehouse, updated_at', reviews: 'review_id' };

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** What an incremental read of [from, to) sees after the loader applied versions < to: the latest version of each id. */
function latestIn<T extends { updated_at: Date }>(rows: T[], id: (r: T) => string, from: number, to: number): T[] {
  const latest = new Map<string, T>();
  for (const r of rows) if (r.updated_at.getTime() < to && (latest.get(id(r))?.updated_at.getTime() ?? -Infinity) <= r.updated_at.getTime()) latest.set(id(r), r);
  return [...latest.values()].filter((r) => r.updated_at.getTime() >= from);
}

describe('catalog pipeline (shop database, real Temporal, PostgreSQL, S3)', () => {
  let env: TestEnv;
  let data: TestDataset;
  let owner: Pool;
  let reader: Pool;
  const schema = `ingest_catalog_${randomUUID().slice(0, 8)}`;
  let p1: PartitionInput;
  let p2: PartitionInput;
  let out2: PartitionOutput;
  /** The live cursors before the first window's run and after it (checked by the last test). */
  const cursorsSeen: Array<Record<string, string>> = [];
  const expected: Record<Source, number> = { products: 0, users: 0, inventory: 0, reviews: 0 };
  const run = (workflowId: string, input: PartitionInput) =>
    env.withWorker(() => env.client.workflow.execute(catalogPipelineWorkflow, { taskQueue: env.taskQueue, workflowId, args: [input] }));
  const load = (o: PartitionOutput, s: Source) => o.loads.find((l) => l.source === s);
  /** The live cursor of each catalog source in this file's staging database, by source. */
  const cursors = async () => Object.fromEntries((await env.deps.staging.query<{ source: string; cursor_column: string; last_value: string }>(
    "select source, cursor_column, last_value from etl.cursors where pipeline = 'catalog' order by source")).rows.map((r) => [r.source, `${r.cursor_column} ${r.last_value}`]));
  const everySource = (end: string) => Object.fromEntries([...SOURCES].sort().map((s) => [s, `updated_at ${new Date(end).toISOString()}`]));
  const staged = (workflowId: string) => Promise.all(SOURCES.map((s) => checksum(env.deps.staging, `select * from staging.${s} where load_id = $1`, KEYS[s], [`${workflowId}/${s}`])));

  beforeAll(async () => {
    env = await testEnv('ingest-catalog');
    data = await testDataset({ days: 7, scale: 0.03 });
    // Review ids are the whole staging key: make them this run's own.
    const reviews = join(data.dir, 'reviews.csv');
    writeFileSync(reviews, readFileSync(reviews, 'utf8').replace(/^R(\d+),/gm, `R${data.tag}x$1,`));
    const url = (role: string) => env.config.SHOP_OWNER_DATABASE_URL.replace(/\/\/shop_owner:shop_owner_dev@/, `//${role}@`);
    owner = new Pool({ connectionString: env.config.SHOP_OWNER_DATABASE_URL, options: `-c search_path=${schema}`, max: 2 });
    reader = new Pool({ connectionString: url('etl_shop_reader:etl_shop_reader_dev'), options: `-c search_path=${schema}`, max: 4 });
    await owner.query(`create schema ${schema}`);
    const ddl = readFileSync(join(__dirname, '../../sql/shop/001_shop.sql'), 'utf8').replace(/^grant .*$/gm, '');
    await owner.query(ddl);
    await owner.query(`grant usage on schema ${schema} to etl_shop_reader; grant select on all tables in schema ${schema} to etl_shop_reader`);
    env.deps.shop = reader;

    const start = Date.parse(data.manifest.range.start);
    const end = Date.parse(data.manifest.range.end);
    const first = Date.UTC(1970, 0, 1);
    p1 = { partitionStart: new Date(first).toISOString(), partitionEnd: data.manifest.range.start };
    p2 = { partitionStart: data.manifest.range.start, partitionEnd: data.manifest.range.end };
    const [products, users, inventory, reviewRows] = await Promise.all([collect(readProducts(data.dir)), collect(readUsers(data.dir)), collect(readInventory(data.dir)), collect(readReviews(data.dir))]);
    expected.products = latestIn(products, (r) => r.product_id, start, end).length;
    expected.users = latestIn(users, (r) => r.user_id, start, end).length;
    const inWindow = (t: Date) => t.getTime() >= start && t.getTime() < end;
    expected.inventory = inventory.filter((r) => inWindow(r.updated_at)).length;
    expected.reviews = reviewRows.filter((r) => inWindow(r.created_at)).length;
    expect(expected.reviews).toBeGreaterThan(0);
    expect(latestIn(products, (r) => r.product_id, first, start).length).toBe(new Set(products.filter((r) => r.updated_at.getTime() < start).map((r) => r.product_id)).size);

    // Step 1: the shop as it was when the API range began; step 2 happens in the tests.
    await loadShopDatabase({ pool: owner, dataDir: data.dir, asOf: new Date(start) });
  });
  afterAll(async () => {
    await owner?.query(`drop schema if exists ${schema} cascade`);
    await Promise.allSettled([owner?.end(), reader?.end()]);
    await env?.close();
    data?.remove();
  });

  it('stages two consecutive windows as the shop changed, with planted invalid rows quarantined', async () => {
    cursorsSeen.push(await cursors());
    const out1 = await run(`catalog/${p1.partitionStart}-${data.tag}`, p1);
    for (const l of out1.loads) expect(l.received).toBe(l.loaded + l.quarantined + l.duplicates);
    expect(load(out1, 'products')?.loaded).toBeGreaterThan(0);
    cursorsSeen.push(await cursors());

    await loadShopDatabase({ pool: owner, dataDir: data.dir, since: new Date(p2.partitionStart), asOf: new Date(p2.partitionEnd) });
    const at = new Date(Date.parse(p2.partitionStart) + 3_600_000).toISOString();
    await owner.query(`insert into products values ('PBAD${data.tag}', 'Bad', 'X', -1, $1);
      insert into users values ('', 'Nobody', null, null, null, $1);
      insert into inventory values ('P1001', 'WH-BAD', -5, $1);
      insert into reviews values ('RBAD${data.tag}a', 'P1001', 'U1', 0, 'zero', $1, $1), ('RBAD${data.tag}b', 'P1001', 'U1', 6, 'six', $1, $1)`.replace(/\$1/g, `'${at}'`));
    const began = performance.now();
    out2 = await run(`catalog/${p2.partitionStart}`, p2);
    const seconds = (performance.now() - began) / 1000;
    const planted: Record<Source, number> = { products: 1, users: 1, inventory: 1, reviews: 2 };
    const m = (s: Source) => data.manifest.files[`${s}.csv`];
    for (const s of SOURCES) {
      const l = load(out2, s);
      expect(l, s).toBeDefined();
      expect(l?.received, s).toBe(expected[s] + planted[s]);
      expect(l?.quarantined, s).toBe((m(s)?.invalid ?? 0) + planted[s]);
      expect(l?.duplicates, s).toBe(m(s)?.duplicates ?? 0);
      expect(l?.loaded, s).toBe(expected[s]);
    }
    const rows = out2.loads.reduce((a, l) => a + l.received, 0);
    console.log(`catalog: ${rows} rows in 4 parallel loads in ${seconds.toFixed(2)} s (workflow start to result): ${(rows / seconds).toFixed(0)} rows/s`);

    const q = await env.deps.staging.query<{ source: string; reason: string }>('select source, reason from etl.quarantine where load_id like $1 order by source, reason', [`catalog/${p2.partitionStart}/%`]);
    expect(q.rows.map((r) => r.source)).toEqual(['inventory', 'products', 'reviews', 'reviews', 'users']);
    expect(q.rows.find((r) => r.source === 'products')?.reason).toMatch(/price: "-1.00" is not a non-negative decimal/);
    expect(q.rows.filter((r) => r.source === 'reviews').map((r) => r.reason)).toEqual(['rating: "0" is not an integer in 1..5', 'rating: "6" is not an integer in 1..5']);
    const dt = p2.partitionStart.slice(0, 10);
    const raw = await getObjectText(env.deps.s3, env.deps.bucket, `raw/reviews/dt=${dt}/${safeName(`catalog/${p2.partitionStart}/reviews`)}.jsonl`);
    expect(raw.trim().split('\n')).toHaveLength(expected.reviews + 2);
    const lake = await getObjectText(env.deps.s3, env.deps.bucket, `quarantine/reviews/dt=${dt}/${safeName(`catalog/${p2.partitionStart}/reviews`)}.jsonl`);
    expect(lake.trim().split('\n').map((l) => (JSON.parse(l) as { record: { rating: string } }).record.rating).sort()).toEqual(['0', '6']);
  });

  it('is idempotent: the same partition again skips its loads and leaves identical rows', async () => {
    const before = await staged(`catalog/${p2.partitionStart}`);
    const again = await run(`catalog/${p2.partitionStart}`, p2);
    expect(again.loads.every((l) => l.skipped)).toBe(true);
    expect(await staged(`catalog/${p2.partitionStart}`)).toEqual(before);
    expect(before.map((c) => c.rows)).toEqual(SOURCES.map((s) => load(out2, s)?.loaded));
  });

  it('counts rows staged by an earlier load as duplicates', async () => {
    const out = await run(`catalog-dup/${p2.partitionStart}`, { ...p2, backfill: true });
    for (const s of SOURCES) {
      const l = load(out, s);
      expect(l?.loaded, s).toBe(0);
      expect(l?.duplicates, s).toBe(load(out2, s)?.loaded);
      expect(l?.quarantined, s).toBe(load(out2, s)?.quarantined);
    }
  });

  it('a rerun after the shop changed in the window loads the change under a new id; unchanged sources are skipped', async () => {
    const at = new Date(Date.parse(p2.partitionStart) + 7_200_000).toISOString();
    await owner.query(`insert into inventory values ('P1001', 'WH-LATE', 42, '${at}')`);
    const out = await run(`catalog/${p2.partitionStart}`, p2);
    const inv = load(out, 'inventory');
    expect(inv?.loadId).toMatch(new RegExp(`/inventory/changed-[0-9a-f]{16}$`));
    expect(inv?.received).toBe((load(out2, 'inventory')?.received ?? 0) + 1);
    expect([inv?.loaded, inv?.duplicates, inv?.quarantined]).toEqual([1, load(out2, 'inventory')?.loaded, 1]);
    for (const s of ['products', 'users', 'reviews'] as const) expect(load(out, s)?.skipped, s).toBe(true);
  });

  it('moved each source\'s live cursor to exactly the end of each scheduled window; a later backfill leaves it there', async () => {
    expect(Date.parse(p2.partitionEnd)).toBeGreaterThan(Date.parse(p1.partitionEnd));
    expect(cursorsSeen).toEqual([{}, everySource(p1.partitionEnd)]);
    expect(await cursors()).toEqual(everySource(p2.partitionEnd));
    const later = { partitionStart: p2.partitionEnd, partitionEnd: new Date(Date.parse(p2.partitionEnd) + 86_400_000).toISOString(), backfill: true };
    await run(`catalog-backfill/${later.partitionStart}`, later);
    expect(await cursors()).toEqual(everySource(p2.partitionEnd));
  });

  it('reads the same rows whatever the chunking: a row at a time when each passes the byte bound, or a few rows at a time', async () => {
    const acts = createCatalogActivities({ ...env.deps, shop: reader });
    const sha = async (loadId: string) => (await env.deps.staging.query<{ sha: string }>("select detail->>'sha256' as sha from etl.loads where load_id = $1", [loadId])).rows[0]?.sha;
    for (const [name, chunking] of [['bytes', { chunkBytes: 1 }], ['rows', { chunkRows: 2 }]] as const) {
      const workflowId = `catalog-chunks-${name}/${p2.partitionStart}`;
      const out = await new MockActivityEnvironment().run(acts.loadProducts, { ...p2, backfill: true, workflowId, ...chunking }) as CatalogSourceOutput;
      const before = load(out2, 'products');
      expect(out.load.received).toBe(before?.received);
      expect([out.load.loaded, out.load.duplicates, out.load.quarantined]).toEqual([0, before?.loaded, before?.quarantined]);
      expect(out.chunks).toBe(name === 'bytes' ? out.load.received : Math.ceil(out.load.received / 2));
      expect(await sha(`${workflowId}/products`)).toBe(await sha(`catalog/${p2.partitionStart}/products`));
    }
  });
});
