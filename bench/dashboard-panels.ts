/**
 * Dashboard panel latency (issue 14: every panel ≤ 300 ms at scale 10 over 30 days). In databases of
 * its own (copies of the test templates), it builds analytics at scale 10's sizes for --days days:
 * 5,000 products in 13 categories, 200,000 customers in 17 countries, --orders-per-day orders of 1-3
 * lines (fact_order_line, then work.refresh_metrics and refresh_customer_days per date as the transform runs them, which fill
 * the sales tables and the dashboard's segments), the per-day event tables at scale 10's sizes (the
 * panels read those, never fact_event), inventory versions per product and warehouse, a day of
 * realtime minutes, and a month of etl.loads (and the current and monthly stock as the inventory
 * extract keeps them). Then the dashboard serves them, and each panel is
 * asked --rounds times through /api/panel (after one warm-up) with the default range (30 days), and
 * again under a category and a country where the panel uses them. Reported per panel: the median and
 * the worst of the query time and of the HTTP round trip, against the goal. Baseline in the same
 * run: `select 1` through the same pool, so the floor of a round trip is known.
 *   npx tsx bench/dashboard-panels.ts [--days 30] [--orders-per-day 40000] [--rounds 5] [--keep]
 * --keep leaves its databases in place and prints their URLs (to read a panel's plan with EXPLAIN).
 */
import { parseArgs } from 'node:util';
import { Pool } from 'pg';
import { loadConfig } from '../config';
import { PANELS } from '../dashboard/panels';
import { startDashboard } from '../dashboard/start';
import { ensureTemplates, fileDatabases } from '../test/support/test-databases';

const GOAL_MS = 300;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function build(analytics: Pool, staging: Pool, days: number, ordersPerDay: number): Promise<{ lines: number; first: string; last: string }> {
  const last = '2026-10-31';
  const first = new Date(Date.parse(last) - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  const q = (sql: string, params: unknown[] = []) => analytics.query(sql, params);
  await q(`insert into dim_product (product_id, product_name, category, category_key, price, updated_at, inferred)
    select 'P' || i, 'Product ' || i, 'Category ' || (i % 13), 'category ' || (i % 13), 5 + (i % 200), now(), false from generate_series(1, 5000) i`);
  await q(`insert into dim_customer (customer_id, user_name, country, signup_date, updated_at, inferred)
    select md5('c' || i), 'Name ' || i, 'C' || (i % 17), date '2024-01-01' + (i % 600), now(), false from generate_series(1, 200000) i`);
  for (let d = 0; d < days; d++) {
    const day = new Date(Date.parse(first) + d * 86_400_000).toISOString().slice(0, 10);
    await q(`insert into fact_order_line (order_date, source, order_id, line_no, customer_id, product_id, quantity, unit_price, amount, status, cancelled)
      select $1::date, case when o % 5 = 0 then 'file' else 'api' end, $1 || '-' || o, l, md5('c' || (1 + (o * 7919 + $2) % 200000)), 'P' || (1 + (o * 31 + l * 997 + $2) % 5000),
             1 + (o + l) % 3, 10 + (o % 90), (1 + (o + l) % 3) * (10 + (o % 90)), case when o % 20 = 0 then 'cancelled' else 'delivered' end, o % 20 = 0
      from generate_series(1, $3::int) o, generate_series(1, 1 + o % 3) l`, [day, d, ordersPerDay]);
    await q('select work.refresh_metrics($1::date)', [day]);
    await q('select work.refresh_customer_days($1::date)', [day]);
    // The event tables at scale 10's sizes (~940k events a day); refresh_metrics emptied them (no fact_event here).
    await q(`insert into product_events_daily (event_date, product_id, event_name, events, users)
      select $1::date, 'P' || p, n, 5 + (p * 13 + k) % 200, 3 + (p * 7 + k) % 100
      from generate_series(1, 5000) p, unnest(array['view', 'add_to_cart', 'wishlist', 'return', 'order']) with ordinality e(n, k)`, [day]);
    await q(`insert into daily_traffic (event_date, event_name, events) select $1::date, n, 100000 + k * 1000 from unnest(array['view', 'add_to_cart', 'wishlist', 'return', 'order']) with ordinality e(n, k)`, [day]);
    await q(`insert into daily_unique_visitors (event_date, visitors) values ($1::date, 90000 + $2::int)`, [day, d]);
    await q(`insert into visitors_daily_country (event_date, country, visitors) select $1::date, 'C' || c, 5000 + c * 10 from generate_series(0, 16) c
      union all select $1::date, '*', 90000 + $2::int`, [day, d]);
    await q(`insert into funnel_daily (event_date, viewers, add_to_cart_users, buyers) values ($1::date, 80000, 20000, 9000)`, [day]);
    await q(`insert into work.inventory (product_id, warehouse, updated_at, stock_level)
      select 'P' || p, 'W' || w, $1::date + interval '6 hours', (p * 17 + w * 5 + $2::int) % 500 from generate_series(1, 5000) p, generate_series(1, 3) w`, [day, d]);
  }
  // As the transform's inventory extract does after its merge.
  await q('select work.refresh_inventory(array(select distinct product_id from work.inventory))');
  await q(`insert into realtime_minute (minute, events, active_users, orders, sessions_viewed, sessions_ordered, conversion, refreshed_at)
    select timestamptz '2026-10-31 00:00Z' + i * interval '1 minute', 650, 300, 20, 250, 20, 0.08, now() from generate_series(0, 1439) i`);
  await q(`insert into realtime_minute_events (minute, event_name, events) select minute, n, 100 from realtime_minute, unnest(array['view', 'add_to_cart', 'wishlist', 'return', 'order']) n`);
  await q('analyze');
  await staging.query(`insert into etl.loads (load_id, pipeline, source, status, received, loaded, quarantined, duplicates, started_at, finished_at)
    select p || '/' || i, p, p, 'succeeded', 1000, 990, 5, 5, now() - i * interval '1 minute', now() - i * interval '1 minute' + interval '2 seconds'
    from unnest(array['orders', 'catalog', 'files', 'events', 'transform']) p, generate_series(1, 43200, 4) i`);
  await staging.query('analyze etl.loads');
  const { rows } = await q('select count(*)::int n from fact_order_line');
  return { lines: rows[0].n as number, first, last };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { days: { type: 'string', default: '30' }, 'orders-per-day': { type: 'string', default: '40000' }, rounds: { type: 'string', default: '5' }, keep: { type: 'boolean', default: false } } });
  const days = Number(values.days);
  const rounds = Number(values.rounds);
  const base = loadConfig();
  await ensureTemplates(base);
  const dbs = fileDatabases(base);
  await dbs.create();
  const config = loadConfig({ ...process.env, ...dbs.env });
  const analytics = new Pool({ connectionString: config.ANALYTICS_DATABASE_URL, max: 2 });
  const staging = new Pool({ connectionString: config.STAGING_DATABASE_URL, max: 2 });
  let dashboard: Awaited<ReturnType<typeof startDashboard>> | undefined;
  try {
    const t = performance.now();
    const data = await build(analytics, staging, days, Number(values['orders-per-day']));
    console.log(JSON.stringify({ built: { days, orderLines: data.lines, from: data.first, to: data.last, seconds: Math.round((performance.now() - t) / 1000) } }));
    dashboard = await startDashboard(config, 0);
    const ask = async (path: string) => {
      const t0 = performance.now();
      const res = await fetch(`${dashboard!.url}${path}`);
      const body = (await res.json()) as { ms?: number; error?: string; rows?: unknown[] };
      if (!res.ok || body.error) throw new Error(`${path}: ${res.status} ${body.error ?? ''}`);
      return { http: performance.now() - t0, query: body.ms ?? NaN, rows: body.rows?.length ?? 0 };
    };
    const floor: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await fetch(`${dashboard.url}healthz`);
      floor.push(performance.now() - t0);
    }
    const cases = PANELS.flatMap((p) => [
      { panel: p.id, filters: 'default range', query: '' },
      ...(p.uses.includes('category') ? [{ panel: p.id, filters: 'category', query: '?category=category+3' }] : []),
      ...(p.uses.includes('country') ? [{ panel: p.id, filters: 'country', query: '?country=C5' }] : []),
    ]);
    const results = [];
    for (const c of cases) {
      await ask(`api/panel/${c.panel}${c.query}`);
      const xs = [];
      for (let i = 0; i < rounds; i++) xs.push(await ask(`api/panel/${c.panel}${c.query}`));
      const q = xs.map((x) => x.query);
      const h = xs.map((x) => x.http);
      const r = { ...c, rows: xs[0]?.rows, queryMedianMs: Math.round(median(q)), queryMaxMs: Math.round(Math.max(...q)), httpMedianMs: Math.round(median(h)), httpMaxMs: Math.round(Math.max(...h)), withinGoal: Math.max(...h) <= GOAL_MS };
      results.push(r);
      console.log(JSON.stringify(r));
    }
    const missed = results.filter((r) => !r.withinGoal);
    console.log(JSON.stringify({ goalMs: GOAL_MS, cases: results.length, withinGoal: results.length - missed.length, missed: missed.map((m) => `${m.panel} (${m.filters}): ${m.httpMaxMs} ms`), httpFloorMedianMs: Math.round(median(floor) * 10) / 10 }));
  } finally {
    await dashboard?.close();
    await Promise.all([analytics.end(), staging.end()]);
    if (values.keep) console.log(JSON.stringify({ kept: dbs.env }));
    else await dbs.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
