/**
 * Every metric table and view of analytics equals an independent computation from the dataset files
 * (test/support/metrics-expected*.ts: own parsing, the definitions of docs/transform.md, BigInt
 * cents, own HMAC), on a generated week with default dirt plus a few planted defects, read as the
 * analyst role (names masked).
 *
 * What is compared, so that it holds on a database other runs share too: every id of the dataset
 * carries the test's prefix, categories and countries its tag, and its dates come after every date
 * in analytics. So views per order, customer, product, category, country or date are compared row
 * for row, restricted to the test's rows (the shared 'uncategorised' and 'unknown' rows of its
 * inferred product and customer only per product and customer). Views ranking over the whole
 * database (top_products, top_countries, customer_unit_price_extremes, top_products_last_month) are
 * checked by expectRanking: the test's listed rows are the head of its own ranking with the same
 * values, and its next row ranks below the last listed one. high_value_orders (above the p95 of every
 * order in the database) by closure: the test's listed orders are exactly its orders above some
 * amount, with their values.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../contract/manifest';
import { generateDataset } from '../../shop/generator';
import { partitionAt } from '../../workflows/partitions';
import { testEnv, type TestEnv } from '../support/env';
import { loadFacts, type Facts } from '../support/metrics-expected';
import { connectAnalyst, expectRanking, expectUpwardClosed, expectView, latestTestDay } from '../support/metrics-expected-check';
import { prepareDataset, type Planted } from '../support/metrics-expected-dataset';
import * as R from '../support/metrics-expected-rankings';
import * as V from '../support/metrics-expected-views';
import { expectContract, expectedMetrics, type Expected } from '../support/transform-expected';
import { runTransforms } from '../support/transform-run';
import { seedStaging } from '../support/transform-seed';

const DAYS = 7; // long enough for a delivered order to be returned

describe('every metric view equals an independent computation from the files (real Temporal, PostgreSQL, S3)', () => {
  let env: TestEnv;
  let analyst: Client;
  let facts: Facts;
  let contract: Expected;
  let manifest: Manifest;
  let planted: Planted;
  let prefix: string;
  let dir: string;
  let dates: string[];
  const view = (label: string, sql: string, params: unknown[], expected: V.ViewRow[], keys: string[]) => expectView(analyst, label, sql, params, expected, keys);
  const customers = () => [...facts.customers.keys()];
  const pseudonym = (userId: string) => createHmac('sha256', env.config.PSEUDONYM_KEY).update(`${prefix}${userId}`, 'utf8').digest('hex').slice(0, 32);

  beforeAll(async () => {
    env = await testEnv('transform-metrics');
    prefix = `tm${randomUUID().slice(0, 6)}-`;
    const day = await latestTestDay(env.deps.analytics, DAYS);
    dir = mkdtempSync(join(tmpdir(), 'etl-transform-metrics-'));
    ({ manifest } = await generateDataset({ seed: 3, start: day, days: DAYS, scale: 0.015, dirt: 'default', out: dir }));
    planted = prepareDataset(dir, prefix);
    facts = loadFacts(dir, prefix, env.config.PSEUDONYM_KEY);
    contract = expectedMetrics(dir, prefix);
    dates = [...new Set([...facts.orders.map((o) => o.date), ...facts.events.map((e) => e.date)])].sort();
    // Stamped as arriving in an hour of the test's own, and that hour transformed: no other run's rows.
    const arrived = new Date(`${day}T23:30:00.000Z`);
    await seedStaging(env.deps.staging, dir, prefix, `test/${prefix}`, arrived);
    const [run] = await runTransforms(env, [partitionAt('transform', arrived)], `/test-${prefix}`);
    for (const l of run!.loads) expect(l.received, l.loadId).toBe(l.loaded + l.quarantined + l.duplicates);
    expect(run!.dates).toEqual(expect.arrayContaining(dates));
    analyst = await connectAnalyst(env.config);
  }, 300_000);
  afterAll(async () => {
    await analyst?.end();
    await env?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs on data with defects: invalid, duplicate, dirty and mismatched records, cancellations, returns, carried-forward values', () => {
    const d = manifest.totals.defects;
    expect(manifest.totals.invalid).toBeGreaterThan(0);
    expect([d.duplicate, d.text_case + d.text_whitespace + d.text_unicode, d.total_mismatch, d.accepted_date_format, d.out_of_order_event]).not.toContain(0);
    expect(facts.orders.some((o) => o.cancelled)).toBe(true);
    expect(facts.events.some((e) => e.eventName === 'return')).toBe(true);
    expect(facts.products.get(`${prefix}${planted.blankProduct}`)?.name).not.toBeNull();
    expect(facts.events.find((e) => e.eventId === `${prefix}${planted.pricelessOrderEvent}`)?.priceCents).toBeNull();
    expect(facts.products.get(`${prefix}${planted.inferredProduct}`)).toEqual({ name: 'Mystery Gadget', category: 'Uncategorised', categoryKey: 'uncategorised', priceCents: null });
    expect(facts.customers.get(pseudonym(planted.inferredUser))).toEqual({ name: null, country: 'unknown', signupDate: null });
  });

  it('the five contract metrics, to the cent', async () => {
    await expectContract(env.deps.analytics, contract, dates, prefix);
  });

  it('user_behavior, order_lines_enriched and orders: row for row, names masked', async () => {
    await view('user_behavior', 'select * from user_behavior where event_id like $1', [`${prefix}%`], V.userBehavior(facts), ['event_id']);
    await view('order_lines_enriched', 'select * from order_lines_enriched where order_id like $1', [`${prefix}%`], V.orderLinesEnriched(facts), ['source', 'order_id', 'line_no']);
    await view('orders', 'select * from orders where order_id like $1', [`${prefix}%`], V.orders(facts), ['source', 'order_id']);
  });

  it('customers, avg_purchase_value_per_customer and avg_spend_per_session, per pseudonymised customer', async () => {
    const ids = customers();
    await view('avg_purchase_value_per_customer', 'select * from avg_purchase_value_per_customer where customer_id = any($1)', [ids], V.avgPurchaseValuePerCustomer(facts), ['customer_id']);
    await view('customers', 'select * from customers where customer_id = any($1)', [ids], V.customers(facts), ['customer_id']);
    await view('avg_spend_per_session', 'select * from avg_spend_per_session where user_id = any($1)', [ids], V.avgSpendPerSession(facts), ['user_id']);
  });

  it('product_sales_daily, product_events_daily and purchase_funnel, per date', async () => {
    await view('product_sales_daily', 'select * from product_sales_daily where product_id like $1', [`${prefix}%`], V.productSalesDaily(facts), ['order_date', 'product_id']);
    await view('product_events_daily', 'select * from product_events_daily where product_id like $1', [`${prefix}%`], V.productEventsDaily(facts), ['event_date', 'product_id', 'event_name']);
    await view('purchase_funnel', 'select * from purchase_funnel where event_date = any($1::date[])', [dates], V.purchaseFunnel(facts), ['event_date']);
  });

  it('category_summary, inventory_turnover and inventory_turnover_by_category', async () => {
    // 'uncategorised' (the inferred product's) is shared with every other run: compared per product only.
    const categories = R.categorySummary(facts).filter((c) => String(c.category).startsWith(prefix));
    expect(categories.length).toBe(new Set([...facts.products.values()].map((p) => p.categoryKey)).size - 1);
    await view('category_summary', 'select * from category_summary where category like $1', [`${prefix}%`], categories, ['category']);
    await view('inventory_turnover', 'select * from inventory_turnover where product_id like $1', [`${prefix}%`], R.inventoryTurnover(facts), ['product_id']);
    await view('inventory_turnover_by_category', 'select * from inventory_turnover_by_category where category like $1', [`${prefix}%`], R.inventoryTurnoverByCategory(facts), ['category']);
  });

  it('country_summary, top_countries and high_value_orders', async () => {
    const tag = prefix.toUpperCase();
    // 'unknown' (the inferred customer's) is shared with every other run: compared per customer only.
    const countries = R.countrySummary(facts).filter((c) => String(c.country).startsWith(tag));
    expect(countries.length).toBe(new Set([...facts.customers.values()].map((c) => c.country)).size - 1);
    await view('country_summary', 'select * from country_summary where country like $1', [`${tag}%`], countries, ['country']);
    const top = await analyst.query<Record<string, unknown>>('select * from top_countries');
    expect(top.fields.map((f) => f.name)).toEqual(['rank', 'country', 'customers', 'orders', 'quantity', 'revenue', 'avg_quantity']);
    expectRanking('top_countries', top.rows, R.topCountries(facts).filter((c) => String(c.country).startsWith(tag)), { key: 'country', value: 'revenue', dir: 'desc', k: 5, ours: (c) => c.startsWith(tag) });
    const high = await analyst.query<Record<string, unknown>>('select * from high_value_orders where order_id like $1', [`${prefix}%`]);
    expect(high.fields.map((f) => f.name)).toEqual(['source', 'order_id', 'order_date', 'customer_id', 'country', 'amount']);
    expectUpwardClosed('high_value_orders', high.rows, R.highValueCandidates(facts));
    // When the database is the test file's own, the 95th percentile is the test's, and the set exact.
    const { rows: [others] } = await analyst.query<{ n: string }>('select count(*) n from orders where order_id not like $1', [`${prefix}%`]);
    if (others!.n === '0') await view('high_value_orders (p95 of this test\'s orders)', 'select * from high_value_orders', [], R.highValueOrders(facts), ['source', 'order_id']);
  });

  it('customer_unit_price_extremes: highest and lowest average unit price paid', async () => {
    const ids = new Set(customers());
    const all = await analyst.query<Record<string, unknown>>('select * from customer_unit_price_extremes');
    expect(all.fields.map((f) => f.name)).toEqual(['extreme', 'rank', 'customer_id', 'country', 'avg_unit_price']);
    for (const extreme of ['highest', 'lowest'] as const) {
      const listed = all.rows.filter((r) => r.extreme === extreme).sort((a, b) => Number(a.rank) - Number(b.rank));
      expectRanking(`customer_unit_price_extremes ${extreme}`, listed, R.unitPriceExtremes(facts, extreme), {
        key: 'customer_id', value: 'avg_unit_price', dir: extreme === 'highest' ? 'desc' : 'asc', k: 10, ours: (c) => ids.has(c),
      });
    }
  });

  it('top_products (most sold, wishlisted, returned) and top_products_last_month', async () => {
    const all = await analyst.query<Record<string, unknown>>('select * from top_products');
    expect(all.fields.map((f) => f.name)).toEqual(['ranking', 'rank', 'product_id', 'product_name', 'value']);
    for (const ranking of ['most_sold', 'most_wishlisted', 'most_returned'] as const) {
      const listed = all.rows.filter((r) => r.ranking === ranking).sort((a, b) => Number(a.rank) - Number(b.rank));
      expectRanking(`top_products ${ranking}`, listed, R.topProducts(facts, ranking), { key: 'product_id', value: 'value', dir: 'desc', k: 10, ours: (p) => p.startsWith(prefix) });
    }
    // The window ends at the latest order date of the whole database: ours, unless a run since has sold later.
    const { rows: [anchor] } = await analyst.query<{ d: string }>('select max(order_date)::text d from product_sales_daily');
    const lastSale = V.soldLines(facts).map((l) => l.date).sort().pop()!;
    expect(anchor!.d >= lastSale, `window end ${anchor!.d} precedes the test's last sale ${lastSale}`).toBe(true);
    const month = await analyst.query<Record<string, unknown>>('select * from top_products_last_month');
    expect(month.fields.map((f) => f.name)).toEqual(['rank', 'product_id', 'product_name', 'units', 'revenue']);
    expectRanking('top_products_last_month', month.rows, R.topProductsLastMonth(facts, anchor!.d), { key: 'product_id', value: 'units', dir: 'desc', k: 10, ours: (p) => p.startsWith(prefix) });
  });
  // Found by this test: work.infer_dimensions inserted an inferred product with `on conflict do
  // nothing`, so a product first inferred from an event kept no name when its purchase line came later.
  it('names a product first seen in an event by the purchase line that arrives in a later run', async () => {
    const after = (n: number) => new Date(Date.parse(`${dates[dates.length - 1]!}T00:00:00.000Z`) + n * 86_400_000);
    const [eventAt, lineAt] = [new Date(after(2).getTime() + 5.5 * 3_600_000), new Date(after(2).getTime() + 7.5 * 3_600_000)];
    await env.deps.staging.query(
      `insert into staging.events (event_id, event_name, user_id, session_id, product_id, order_id, price, ts, kafka_partition, kafka_offset, load_id, ingested_at)
       values ($1, 'wishlist', $2, $3, $4, null, null, $5, 0, 0, $6, $5)`,
      [`${prefix}EY1`, `${prefix}U100001`, `${prefix}SY1`, `${prefix}PY1`, eventAt, `test/${prefix}/late-name`]);
    await runTransforms(env, [partitionAt('transform', eventAt)], `/test-${prefix}-late-name-1`);
    await env.deps.staging.query(
      `insert into staging.purchases (order_id, product_id, customer_id, order_date, product_name, quantity, price, total, total_mismatch, source_file, source_line, load_id, ingested_at)
       values ($1, $2, $3, $4, ' Late  Named Gadget', 1, 5.00, 5.00, false, 'late-name.csv', 1, $5, $6)`,
      [`${prefix}HY1`, `${prefix}PY1`, `${prefix}U100001`, after(1).toISOString().slice(0, 10), `test/${prefix}/late-name`, lineAt]);
    await runTransforms(env, [partitionAt('transform', lineAt)], `/test-${prefix}-late-name-2`);
    await view('product_sales', 'select * from product_sales where product_id = $1', [`${prefix}PY1`],
      [{ product_id: `${prefix}PY1`, product_name: 'Late Named Gadget', units: '1', revenue: '5.00' }], ['product_id']);
  });
});
