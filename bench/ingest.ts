/**
 * Throughput of the orders and catalog activities against the real services (no workflow around
 * them: MockActivityEnvironment supplies the activity context). A dataset of its own dates, the
 * simulator's orders API in-process, a private shop schema; the staging rows it wrote are deleted.
 *   npx tsx bench/ingest.ts --scale 1 --days 1
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Pool } from 'pg';
import { loadConfig } from '../config';
import { createCatalogActivities, type CatalogSourceOutput } from '../activities/catalog';
import { createOrdersActivities, type ExtractOrdersOutput } from '../activities/orders';
import { buildDeps } from '../workers/deps';
import { loadShopDatabase } from '../shop/simulator/shop-database';
import { startShop } from '../shop/simulator/start-shop';
import { testDataset } from '../test/support/ingest-dataset';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { scale: { type: 'string', default: '1' }, days: { type: 'string', default: '1' }, 'page-size': { type: 'string', default: '500' } } });
  const config = loadConfig();
  const deps = buildDeps(config);
  const data = await testDataset({ days: Number(values.days), scale: Number(values.scale) });
  const schema = `bench_ingest_${data.tag}`;
  const search = `-c search_path=${schema}`;
  const owner = new Pool({ connectionString: config.SHOP_OWNER_DATABASE_URL, options: search, max: 2 });
  const reader = new Pool({ connectionString: config.SHOP_DATABASE_URL, options: search, max: 4 });
  const shop = await startShop({ config, dataDir: data.dir, api: { port: 0 }, database: false, kafka: false, drops: false });
  const window = { partitionStart: data.manifest.range.start, partitionEnd: data.manifest.range.end, backfill: true };
  const run = async <T>(label: string, fn: () => Promise<T>) => {
    const t = performance.now();
    const out = await fn();
    return { out, seconds: (performance.now() - t) / 1000, label };
  };
  try {
    const orders = createOrdersActivities({ ...deps, ordersApi: { url: shop.apiUrl ?? '', token: config.ORDERS_API_TOKEN, pageSize: Number(values['page-size']) } });
    const o = await run('orders', async () => (await new MockActivityEnvironment().run(orders.extractOrders, { ...window, workflowId: `bench-orders/${window.partitionStart}` })) as ExtractOrdersOutput);
    const versions = o.out.loads.reduce((a, l) => a + l.received, 0);
    console.log(JSON.stringify({ pipeline: 'orders', versions, pages: o.out.pages, seconds: +o.seconds.toFixed(2), versionsPerSecond: Math.round(versions / o.seconds), pagesPerSecond: +(o.out.pages / o.seconds).toFixed(1) }));

    await owner.query(`create schema ${schema}`);
    await owner.query(readFileSync(join(__dirname, '../sql/shop/001_shop.sql'), 'utf8').replace(/^grant .*$/gm, ''));
    await owner.query(`grant usage on schema ${schema} to etl_shop_reader; grant select on all tables in schema ${schema} to etl_shop_reader`);
    await loadShopDatabase({ pool: owner, dataDir: data.dir });
    const catalog = createCatalogActivities({ ...deps, shop: reader });
    const all = { ...window, partitionStart: '1970-01-01T00:00:00.000Z', workflowId: `bench-catalog/${window.partitionStart}` };
    const c = await run('catalog', () => Promise.all([catalog.loadProducts, catalog.loadUsers, catalog.loadInventory, catalog.loadReviews].map(async (f) => (await new MockActivityEnvironment().run(f, all)) as CatalogSourceOutput)));
    const rows = c.out.reduce((a, r) => a + r.load.received, 0);
    console.log(JSON.stringify({ pipeline: 'catalog', rows, bySource: Object.fromEntries(c.out.map((r) => [r.load.source, r.load.received])), seconds: +c.seconds.toFixed(2), rowsPerSecond: Math.round(rows / c.seconds) }));
  } finally {
    for (const t of ['order_lines', 'orders', 'products', 'users', 'inventory', 'reviews']) {
      await deps.staging.query(`delete from staging.${t} where load_id like 'bench-%/${window.partitionStart}/%'`);
    }
    await deps.staging.query(`delete from etl.quarantine where load_id like 'bench-%/${window.partitionStart}/%'`);
    await deps.staging.query(`delete from etl.loads where load_id like 'bench-%/${window.partitionStart}/%'`);
    await owner.query(`drop schema if exists ${schema} cascade`);
    await shop.stop();
    await Promise.allSettled([owner.end(), reader.end(), deps.close()]);
    data.remove();
  }
}

void main();
