/**
 * fact_event holds one partition per date (sql/analytics/071). A date's first load builds its
 * partition as a table of its own, indexes and analyzes it, then attaches it (work.load_events);
 * later loads insert into it. Run as the transform's own role (etl_analytics) on a real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolClient } from 'pg';
import { testEnv, type TestEnv } from '../support/env';

describe('fact_event by date (real PostgreSQL)', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await testEnv('fact-event-partitions');
  }, 120_000);
  afterAll(async () => {
    await env?.close();
  });

  /** `n` events of date `d` into work.events (into its partition, made if missing: sql/analytics/073), ids from `from`. */
  const addEvents = async (c: PoolClient, d: string, from: number, n: number) => {
    await c.query('select work.add_event_partitions(array[$1::date])', [d]);
    return c.query(
      `insert into work.events (event_id, event_name, customer_id, session_id, product_id, order_id, price, ts, event_date)
       select 'fe-' || $1 || '-' || g, case when g % 10 = 0 then 'order' else 'view' end, 'c' || (g % 300), 's' || (g % 900), 'p' || (g % 50), null, case when g % 10 = 0 then 9.99 end,
              $1::date + make_interval(secs => g % 86000), $1::date
       from generate_series($2::int, $2::int + $3::int - 1) g`, [d, from, n]);
  };

  const partitionOf = async (c: PoolClient, d: string) => (await c.query<{ name: string | null }>(
    `select i.inhrelid::regclass::text as name from pg_inherits i where i.inhparent = 'fact_event'::regclass
       and i.inhrelid = to_regclass('partitions.' || work.event_partition($1::date))`, [d])).rows[0]?.name ?? null;

  it('a date\'s first load builds its partition with fact_event\'s indexes and fresh statistics; a rollback leaves none', async () => {
    const d = '2150-03-01';
    const c = await env.deps.analytics.connect();
    try {
      await c.query('begin');
      await addEvents(c, d, 1, 3000);
      expect((await c.query<{ built: boolean }>('select work.load_events($1::date) as built', [d])).rows[0]?.built).toBe(true);
      const part = await partitionOf(c, d);
      expect(part).toBe('partitions.fact_event_21500301');
      // The partition's four indexes are the parent's, adopted by the attach, not built a second time.
      const idx = (await c.query<{ n: string; adopted: string }>(
        `select count(*) as n, count(*) filter (where exists (select 1 from pg_inherits h where h.inhrelid = x.indexrelid)) as adopted
         from pg_index x where x.indrelid = $1::regclass`, [part])).rows[0];
      expect(idx).toEqual({ n: '4', adopted: '4' });
      // Analyzed before the commit: the statements after it plan the date at its size, not at one row.
      const plan = (await c.query<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(
        `explain (format json) select * from fact_event where event_date = $1::date`, [d])).rows[0]?.['QUERY PLAN'][0]?.Plan['Plan Rows'];
      expect(plan).toBe(3000);
      expect(Number((await c.query('select count(*) as n from fact_event where event_date = $1::date', [d])).rows[0]?.n)).toBe(3000);
      await c.query('rollback');
      expect(await partitionOf(c, d)).toBeNull();
      expect((await c.query(`select to_regclass('partitions.fact_event_21500301') as r`)).rows[0]?.r).toBeNull();
    } finally {
      c.release();
    }
  });

  it('a later load of the date inserts only its new events into the partition; a date without events gets none', async () => {
    const d = '2150-03-02';
    const c = await env.deps.analytics.connect();
    try {
      await addEvents(c, d, 1, 2000);
      expect((await c.query<{ built: boolean }>('select work.load_events($1::date) as built', [d])).rows[0]?.built).toBe(true);
      await addEvents(c, d, 2001, 500);
      expect((await c.query<{ built: boolean }>('select work.load_events($1::date) as built', [d])).rows[0]?.built).toBe(false);
      const { rows: [r] } = await c.query<{ n: string; ids: string }>('select count(*) as n, count(distinct event_id) as ids from fact_event where event_date = $1::date', [d]);
      expect(r).toEqual({ n: '2500', ids: '2500' });
      expect(await partitionOf(c, d)).toBe('partitions.fact_event_21500302');
      expect((await c.query<{ built: boolean }>('select work.load_events($1::date) as built', ['2150-03-03'])).rows[0]?.built).toBe(false);
      expect(await partitionOf(c, '2150-03-03')).toBeNull();
    } finally {
      c.release();
    }
  });
});
