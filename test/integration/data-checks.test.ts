/**
 * Blocking data checks (sql/checks, docs/data-checks.md) on real PostgreSQL and Temporal: a clean
 * run passes every check; each planted failure (an orphan fact, half of a day's orders missing,
 * zeroed prices) keeps the date's previous version, records the failed check in
 * analytics.data_checks and raises a data_check alert naming the check, the date and the numbers.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAlertId, type CheckRun } from '../../activities/transform/checks';
import { loadDate } from '../../activities/transform/load';
import { applyOverrides, loadDataChecks } from '../../lib/data-checks';
import { generateDataset } from '../../shop/generator';
import { transformWorkflow } from '../../workflows/transform';
import { partitionAt } from '../../workflows/partitions';
import { testEnv, type TestEnv } from '../support/env';
import { connectAnalyst } from '../support/metrics-expected-check';
import { runTransforms } from '../support/transform-run';
import { seedStaging } from '../support/transform-seed';

// Five past days (a Monday to a Friday), so the last ones are complete and have history to compare with.
const START = '2024-04-01';
const DAYS = ['2024-04-01', '2024-04-02', '2024-04-03', '2024-04-04', '2024-04-05'];

describe('blocking data checks before analytics publish (real PostgreSQL and Temporal)', () => {
  let env: TestEnv;
  let prefix: string;
  const checks = loadDataChecks();

  const results = async (date: string, runLike = '%') => (await env.deps.analytics.query<{ check_name: string; status: string; published: boolean; observed: string | null; expected: string | null; detail: string; run_id: string }>(
    'select * from data_checks where check_date = $1 and run_id like $2 order by check_name, checked_at', [date, runLike])).rows;
  const published = async (date: string) => (await env.deps.analytics.query<{ orders: number; revenue: string }>('select orders, revenue from orders_by_date where order_date = $1', [date])).rows[0];
  const alert = async (id: string) => (await env.deps.staging.query<{ kind: string; message: string }>('select kind, message from etl.alerts where alert_id = $1', [id])).rows[0];
  const gate = (run: CheckRun, use = checks) => ({ checks: use, staging: env.deps.staging, run });

  beforeAll(async () => {
    env = await testEnv('checks');
    prefix = `dc${randomUUID().slice(0, 6)}-`;
    const dir = mkdtempSync(join(tmpdir(), 'etl-checks-'));
    await generateDataset({ seed: 5, start: START, days: DAYS.length, scale: 0.03, dirt: 'default', out: dir });
    await seedStaging(env.deps.staging, dir, prefix, `test/${prefix}`);
    await runTransforms(env, [partitionAt('transform', new Date())], `/test-${prefix}`);
  }, 300_000);
  afterAll(async () => env?.close());

  it('a clean run passes every check on every day of the dataset, and the complete days are judged against their history', async () => {
    for (const date of DAYS) {
      const rows = await results(date);
      expect(rows.map((r) => r.check_name).sort(), date).toEqual(checks.map((c) => c.name).sort());
      for (const r of rows) {
        expect(['pass', 'skip'], `${date} ${r.check_name}: ${r.detail}`).toContain(r.status);
        expect(r.published).toBe(true);
      }
    }
    // The 4th and 5th days have 3 and 4 earlier days to compare with: judged, and passed.
    for (const date of DAYS.slice(3)) {
      const by = Object.fromEntries((await results(date)).map((r) => [r.check_name, r]));
      for (const name of ['revenue_reconciles', 'facts_have_dimensions', 'no_negative_amounts', 'no_future_dates', 'zero_prices', 'orders_volume', 'events_volume']) {
        expect(by[name]?.status, `${date} ${name}: ${by[name]?.detail}`).toBe('pass');
      }
    }
  });

  it('an orphan fact (a planted bug: dimensions not inferred) keeps the previous version and raises an alert', async () => {
    const date = DAYS[2]!;
    const traffic = async () => (await env.deps.analytics.query('select event_name, events from daily_traffic where event_date = $1 order by 1', [date])).rows;
    const before = await traffic();
    const { rows: [def] } = await env.deps.analytics.query<{ d: string }>(`select pg_get_functiondef('work.infer_dimensions(date)'::regprocedure) as d`);
    const eventId = `${prefix}orphan-event`;
    const orderId = `${prefix}orphan-order`;
    const updatedAt = `${date}T12:00:00Z`;
    try {
      await env.deps.analytics.query(`create or replace function work.infer_dimensions(d date) returns void language plpgsql as $$ begin null; end $$`);
      // An orphan event: fact_event has no foreign keys (sql/analytics/070), so the check's own query catches it.
      // work.events takes a row only into its date's partition (sql/analytics/073).
      await env.deps.analytics.query('select work.add_event_partitions(array[$1::date])', [date]);
      await env.deps.analytics.query(
        `insert into work.events (event_id, event_name, customer_id, session_id, product_id, order_id, price, ts, event_date) values ($1, 'view', $2, 's-orphan', null, null, null, $3, ($3::timestamptz at time zone 'UTC')::date)`,
        [eventId, `${prefix}no-such-customer`, updatedAt]);
      const run = { workflowId: `test/${prefix}orphan`, runId: 'r1' };
      await expect(loadDate(env.deps.analytics, { date, partition: run.workflowId }, gate(run))).rejects.toMatchObject({
        type: 'DataCheckFailed', nonRetryable: true, message: expect.stringMatching(new RegExp(`analytics date ${date} not published: .*facts_have_dimensions`)),
      });
      expect(await traffic()).toEqual(before);
      const r = (await results(date, `${run.workflowId}/r1`)).find((x) => x.check_name === 'facts_have_dimensions');
      expect(r).toMatchObject({ check_name: 'facts_have_dimensions', status: 'fail', published: false, observed: '1', detail: expect.stringMatching(/lacks: 1 customers/) });
      const a = await alert(checkAlertId(run, date, 'facts_have_dimensions'));
      expect(a?.kind).toBe('data_check');
      expect(a?.message).toMatch(new RegExp(`facts_have_dimensions failed on analytics date ${date} \\(NOT published`));

      // An orphan order line: fact_order_line has no foreign keys either (sql/analytics/072), so the
      // check's query reads the date's lines. Its customer and product are in no other fact or
      // metric row of the date (a cancelled order: product_sales_daily leaves its product out), so
      // only the lines can show them.
      await env.deps.analytics.query(
        `insert into work.orders (order_id, updated_at, customer_id, status, created_at) values ($1, $2, $3, 'cancelled', $2)`,
        [orderId, updatedAt, `${prefix}no-such-line-customer`]);
      await env.deps.analytics.query(
        `insert into work.order_lines (order_id, updated_at, line_no, product_id, quantity, unit_price) values ($1, $2, 1, $3, 1, 1.00)`,
        [orderId, updatedAt, `${prefix}no-such-product`]);
      const keyed = { workflowId: `test/${prefix}orphan`, runId: 'r2' };
      await expect(loadDate(env.deps.analytics, { date, partition: keyed.workflowId }, gate(keyed))).rejects.toMatchObject({ type: 'DataCheckFailed', nonRetryable: true });
      expect(await traffic()).toEqual(before);
      const r2 = (await results(date, `${keyed.workflowId}/r2`)).find((x) => x.check_name === 'facts_have_dimensions');
      expect(r2).toMatchObject({ check_name: 'facts_have_dimensions', status: 'fail', published: false });
      expect(r2).toMatchObject({ observed: '3', detail: expect.stringMatching(/lacks: 2 customers, 1 products/) });

      // A user who adds the foreign keys back gets them enforced: the refusal is recorded under the same check.
      await env.deps.analytics.query(
        `alter table fact_order_line add constraint fact_order_line_customer_id_fkey foreign key (customer_id) references dim_customer (customer_id),
                                     add constraint fact_order_line_product_id_fkey foreign key (product_id) references dim_product (product_id)`);
      const fk = { workflowId: `test/${prefix}orphan`, runId: 'r3' };
      await expect(loadDate(env.deps.analytics, { date, partition: fk.workflowId }, gate(fk))).rejects.toMatchObject({ type: 'DataCheckFailed', nonRetryable: true });
      expect(await traffic()).toEqual(before);
      const r3 = (await results(date, `${fk.workflowId}/r3`)).find((x) => x.check_name === 'facts_have_dimensions');
      expect(r3).toMatchObject({ check_name: 'facts_have_dimensions', status: 'fail', published: false, detail: expect.stringMatching(/fact_order_line_(customer|product)_id_fkey refused it/) });
    } finally {
      await env.deps.analytics.query(def!.d);
      await env.deps.analytics.query('alter table fact_order_line drop constraint if exists fact_order_line_customer_id_fkey, drop constraint if exists fact_order_line_product_id_fkey');
      await env.deps.analytics.query('delete from work.events where event_id = $1', [eventId]);
      await env.deps.analytics.query('delete from work.order_lines where order_id = $1', [orderId]);
      await env.deps.analytics.query('delete from work.orders where order_id = $1', [orderId]);
    }
  });

  it('a date\'s events follow the work layer: new ones are added, deleted ones go, the others are not rewritten', async () => {
    const date = DAYS[0]!;
    const db = env.deps.analytics;
    const mine = async () => (await db.query<{ event_id: string; x: string }>(
      `select event_id, xmin::text as x from fact_event where event_date = $1 and event_id like $2 order by event_id`, [date, `${prefix}%`])).rows;
    const before = await mine();
    expect(before.length).toBeGreaterThan(10);
    const gone = before[0]!.event_id;
    const { rows: [kept] } = await db.query('select * from work.events where event_id = $1', [gone]);
    const added = `${prefix}late-event`;
    try {
      await db.query('delete from work.events where event_id = $1', [gone]);
      await db.query(
        `insert into work.events (event_id, event_name, customer_id, session_id, product_id, order_id, price, ts, event_date) select $1, 'view', customer_id, session_id, null, null, null, ts, event_date from work.events where event_id = $2`,
        [added, before[1]!.event_id]);
      const run = { workflowId: `test/${prefix}follow`, runId: 'r1' };
      await loadDate(db, { date, partition: run.workflowId }, gate(run));
      const after = await mine();
      expect(after.map((r) => r.event_id).sort()).toEqual([...before.slice(1).map((r) => r.event_id), added].sort());
      // Untouched events keep their row version: the load did not delete and insert the date again.
      const xmin = new Map(before.map((r) => [r.event_id, r.x]));
      expect(after.filter((r) => r.event_id !== added && xmin.get(r.event_id) !== r.x)).toEqual([]);
      // The whole date, every prefix: fact_event holds exactly the work layer's events, and the metrics count them.
      const { rows: [diff] } = await db.query<{ extra: string; missing: string; counted: string; work: string }>(
        `select (select count(*) from (select event_id from fact_event where event_date = $1 except select event_id from work.events where event_date = $1) x) as extra,
                (select count(*) from (select event_id from work.events where event_date = $1 except select event_id from fact_event where event_date = $1) x) as missing,
                (select sum(events) from daily_traffic where event_date = $1) as counted,
                (select count(*) from work.events where event_date = $1) as work`, [date]);
      expect(diff).toMatchObject({ extra: '0', missing: '0', counted: diff!.work });
    } finally {
      await db.query('delete from work.events where event_id = $1', [added]);
      await db.query(`insert into work.events (event_id, event_name, customer_id, session_id, product_id, order_id, price, ts, event_date) values ($1, $2, $3, $4, $5, $6, $7, $8, ($8::timestamptz at time zone 'UTC')::date) on conflict do nothing`,
        [kept.event_id, kept.event_name, kept.customer_id, kept.session_id, kept.product_id, kept.order_id, kept.price, kept.ts]);
      await loadDate(db, { date, partition: `test/${prefix}follow-restore` });
    }
  });

  it('half of a day\'s orders missing upstream fails the transform run, keeps the day\'s previous numbers and names the check and the numbers', async () => {
    const date = DAYS[4]!;
    const before = await published(date);
    expect(before?.orders).toBeGreaterThan(20);
    // Every other order of the day lost, in staging (as a broken export would leave it) and in the work layer.
    const { rows: lost } = await env.deps.analytics.query<{ order_id: string }>(
      `select order_id from (select order_id, row_number() over (order by order_id) as n from (select distinct order_id from work.orders where created_date = $1
         union select distinct order_id from work.purchases where order_date = $1) o) x where n % 2 = 0`, [date]);
    const ids = lost.map((r) => r.order_id);
    for (const t of ['order_lines', 'orders', 'purchases']) await env.deps.staging.query(`delete from staging.${t} where order_id = any($1)`, [ids]);
    for (const t of ['order_lines', 'orders', 'purchases']) await env.deps.analytics.query(`delete from work.${t} where order_id = any($1)`, [ids]);

    const workflowId = `transform/${date}T12:00:00.000Z/test-${prefix}half`;
    const failure = await env.withWorker(() => env.client.workflow.execute(transformWorkflow, {
      taskQueue: env.taskQueue, workflowId, args: [{ partitionStart: `${date}T12:00:00.000Z`, partitionEnd: `${date}T13:00:00.000Z`, backfill: true }],
    })).then(() => undefined, (err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const chain: string[] = [];
    for (let e: unknown = failure; e instanceof Error; e = e.cause) chain.push(e.message);
    expect(chain.join(' <- ')).toMatch(new RegExp(`analytics date ${date} not published: a blocking data check failed .*the run's other dates were published`));
    // The other dates the hour touched (orders of earlier days updated in it) were checked and published.
    const { rows: others } = await env.deps.analytics.query<{ d: string; published: boolean }>(
      `select distinct to_char(check_date, 'YYYY-MM-DD') as d, published from data_checks where run_id like $1 and check_date <> $2`, [`${workflowId}/%`, date]);
    expect(others.length).toBeGreaterThan(0);
    expect(others.every((o) => o.published)).toBe(true);

    expect(await published(date)).toEqual(before);
    const [r] = await results(date, `${workflowId}/%`).then((rows) => rows.filter((x) => x.check_name === 'orders_volume'));
    expect(r).toMatchObject({ status: 'fail', published: false });
    expect(Number(r!.observed)).toBeLessThan(0.6 * Number(r!.expected));
    const { rows: alerts } = await env.deps.staging.query<{ message: string }>(`select message from etl.alerts where kind = 'data_check' and workflow_id = $1`, [workflowId]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.message).toMatch(new RegExp(`orders_volume failed on analytics date ${date} \\(NOT published, its previous version kept\\): ${r!.observed} orders against a usual`));
  });

  it('zeroed prices are blocked; with the check lowered to a warning (ETL_DATA_CHECKS) the day publishes and the alert is raised', async () => {
    const date = DAYS[3]!;
    const before = await published(date);
    expect(Number(before?.revenue)).toBeGreaterThan(0);
    await env.deps.analytics.query(
      `update work.order_lines set unit_price = 0 where (order_id, updated_at) in (select order_id, updated_at from work.orders where created_date = $1)`, [date]);
    await env.deps.analytics.query('update work.purchases set price = 0 where order_id in (select order_id from work.purchases where order_date = $1)', [date]);

    const blocked = { workflowId: `test/${prefix}zero`, runId: 'blocked' };
    await expect(loadDate(env.deps.analytics, { date, partition: blocked.workflowId }, gate(blocked))).rejects.toMatchObject({ type: 'DataCheckFailed' });
    expect(await published(date)).toEqual(before);
    const [r] = (await results(date, `${blocked.workflowId}/blocked`)).filter((x) => x.check_name === 'zero_prices');
    expect(r).toMatchObject({ status: 'fail', published: false, observed: '1.0000', expected: '0.02' });
    expect((await alert(checkAlertId(blocked, date, 'zero_prices')))?.message).toMatch(/zero_prices failed on analytics date 2024-04-04 .*priced at 0 \(100\.00%\); at most 2(\.00)?% allowed/);

    const warned = { workflowId: `test/${prefix}zero`, runId: 'warned' };
    const out = await loadDate(env.deps.analytics, { date, partition: warned.workflowId }, gate(warned, applyOverrides(checks, 'zero_prices.severity=warning')));
    expect(out.checks?.warned).toBeGreaterThanOrEqual(1);
    expect(await published(date)).toEqual({ orders: before!.orders, revenue: '0.00' });
    expect((await results(date, `${warned.workflowId}/warned`)).find((x) => x.check_name === 'zero_prices')).toMatchObject({ status: 'warn', published: true });
    expect((await alert(checkAlertId(warned, date, 'zero_prices')))?.message).toMatch(/zero_prices warned on analytics date 2024-04-04 \(published with a warning\)/);
  });

  it('a warning check (quarantine_share) publishes and alerts once; the same warning in the next run raises no second alert', async () => {
    const date = DAYS[1]!;
    await env.deps.staging.query(
      `insert into etl.loads (load_id, pipeline, source, partition_start, partition_end, status, received, loaded, quarantined, duplicates, finished_at)
       values ($1, 'orders', 'orders_api', $2, $3, 'succeeded', 1000, 800, 200, 0, now())`,
      [`test/${prefix}quarantine`, `${date}T10:00:00Z`, `${date}T10:10:00Z`]);
    const first = { workflowId: `test/${prefix}quarantine`, runId: 'q1' };
    const out = await loadDate(env.deps.analytics, { date, partition: first.workflowId }, gate(first));
    expect(out.checks?.warned).toBe(1);
    const r = (await results(date, `${first.workflowId}/q1`)).find((x) => x.check_name === 'quarantine_share');
    expect(r).toMatchObject({ status: 'warn', published: true, observed: '0.2000', expected: '0.05' });
    expect((await alert(checkAlertId(first, date, 'quarantine_share')))?.message).toMatch(/quarantine_share warned on analytics date 2024-04-02 \(published with a warning\): orders_api: 200 of 1000 rows quarantined \(20\.00%\)/);
    const second = { workflowId: `test/${prefix}quarantine`, runId: 'q2' };
    await loadDate(env.deps.analytics, { date, partition: second.workflowId }, gate(second));
    expect((await results(date, `${second.workflowId}/q2`)).find((x) => x.check_name === 'quarantine_share')?.status).toBe('warn');
    expect(await alert(checkAlertId(second, date, 'quarantine_share'))).toBeUndefined();
  });

  it('analysts can read the results, latest per check and date', async () => {
    const analyst = await connectAnalyst(env.config);
    try {
      const { rows } = await analyst.query<{ check_name: string; status: string }>('select check_name, status from data_checks_latest where check_date = $1 order by 1', [DAYS[3]]);
      expect(rows.map((r) => r.check_name)).toEqual(checks.map((c) => c.name).sort());
      // The warned load of the zeroed-prices test is the latest on that date.
      expect(rows.find((r) => r.check_name === 'zero_prices')?.status).toBe('warn');
      expect(Number((await analyst.query<{ n: string }>('select count(*) as n from data_checks')).rows[0]?.n)).toBeGreaterThan(checks.length * DAYS.length);
    } finally {
      await analyst.end();
    }
  });
});
