/**
 * Plans that must not depend on fresh statistics. The transform writes a date and reads it back in
 * the same transaction, before any ANALYZE can see it, so the planner estimates the date at about
 * one row. These tests build that situation on a real PostgreSQL and read the plans PostgreSQL ran
 * (auto_explain, as a superuser session in the test database, its output sent to the client) and
 * assert their shape, not their time.
 */
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv, type TestEnv } from '../support/env';

interface PlanNode { 'Node Type': string; 'Actual Loops'?: number; Plans?: PlanNode[] }

/** Every node of a plan, depth first. */
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

describe('plans on a date the statistics have not seen (real PostgreSQL)', () => {
  let env: TestEnv;
  let admin: Client;

  beforeAll(async () => {
    env = await testEnv('plans');
    // The test's analytics database, as the superuser: only a superuser may LOAD auto_explain.
    const url = new URL(env.config.ANALYTICS_DATABASE_URL);
    const su = new URL(env.config.PG_ADMIN_URL);
    url.username = su.username;
    url.password = su.password;
    admin = new Client({ connectionString: url.toString(), application_name: 'plans-test' });
    await admin.connect();
    // Earlier dates, analyzed: 20 dates of 1,500 customers each.
    await admin.query(`insert into customer_order_days (country, customer_id, order_date, prev_date)
      select 'DE', 'p' || g, date '2140-01-01' + (g % 20), null from generate_series(1, 30000) g`);
    await admin.query(`insert into order_values (order_date, source, order_id, customer_id, country, amount)
      select date '2140-01-01' + (g % 20), 'api', 'po' || g, 'p' || g, 'DE', 1 from generate_series(1, 30000) g`);
    await admin.query('analyze customer_order_days');
    await admin.query('analyze order_values');
  }, 120_000);
  afterAll(async () => {
    await admin?.end();
    await env?.close();
  });

  /** The JSON plans of every statement `sql` runs, nested ones included. */
  async function plansOf(sql: string): Promise<PlanNode[]> {
    const plans: PlanNode[] = [];
    const heard = (n: { message?: string }) => {
      const m = /^duration: [\d.]+ ms\s+plan:\s*([\s\S]*)$/.exec(n.message ?? '');
      if (!m?.[1]) return;
      try {
        plans.push((JSON.parse(m[1]) as { Plan: PlanNode }).Plan);
      } catch {
        plans.push({ 'Node Type': `unreadable plan: ${m[1].slice(0, 200)}` }); // fails the assertions, not the socket
      }
    };
    admin.on('notice', heard);
    try {
      await admin.query(`load 'auto_explain'`);
      await admin.query(`set local auto_explain.log_min_duration = 0; set local auto_explain.log_analyze = on; set local auto_explain.log_timing = off;
        set local auto_explain.log_nested_statements = on; set local auto_explain.log_format = json; set local client_min_messages = log`);
      await admin.query(sql);
      await admin.query(`set local client_min_messages = notice; set local auto_explain.log_min_duration = -1`);
    } finally {
      admin.off('notice', heard);
    }
    return plans;
  }

  it('refresh_customer_days computes the customers who stopped ordering once, not once per customer of the date', async () => {
    await admin.query('begin');
    try {
      // An earlier run of the new date left 30,000 customers; now 31,000 ordered on it (1,000 more).
      await admin.query(`insert into customer_order_days (country, customer_id, order_date, prev_date)
        select 'DE', 'c' || g, date '2150-01-01', null from generate_series(1, 30000) g`);
      await admin.query(`insert into order_values (order_date, source, order_id, customer_id, country, amount)
        select date '2150-01-01', 'api', 'o' || g, 'c' || g, 'DE', 1 from generate_series(1, 31000) g`);
      const plans = await plansOf(`select work.refresh_customer_days(date '2150-01-01')`);
      const setOps = plans.flatMap(nodes).filter((n) => n['Node Type'] === 'SetOp');
      expect(setOps.length).toBeGreaterThan(0); // the statement ran, and its EXCEPTs were seen
      expect(setOps.map((n) => n['Actual Loops'])).toEqual(setOps.map(() => 1));
      const { rows: [r] } = await admin.query<{ n: string }>(`select count(*) as n from customer_order_days where order_date = date '2150-01-01'`);
      expect(Number(r?.n)).toBe(31_000);
    } finally {
      await admin.query('rollback');
    }
  });
});
