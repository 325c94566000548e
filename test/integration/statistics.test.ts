/**
 * Planner statistics after a bulk write (activities/common/statistics.ts), on a real PostgreSQL: a
 * table that holds many dates gets a new one well under autovacuum's 10 % threshold, and while its
 * dates all sit in the statistics' most-common-values list the new date is planned as about one row.
 */
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeTables, outdatedSince, partitionedOutdated, tablesToAnalyze, underestimatedDates, writeMark } from '../../activities/common/statistics';
import { inTransaction } from '../../activities/common/transaction';
import { testEnv, type TestEnv } from '../support/env';

describe('statistics after a bulk write (real PostgreSQL)', () => {
  let env: TestEnv;
  const table = 'stats_test.facts';
  const columns = [{ table, column: 'd' }];
  const estimate = async (d: string) => (await env.deps.analytics.query<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(
    `explain (format json) select 1 from ${table} where d = '${d}'::date`)).rows[0]?.['QUERY PLAN'][0]?.Plan['Plan Rows'];
  const insert = (q: { query: (s: string) => Promise<unknown> }, d: string, n: number) =>
    q.query(`insert into ${table} (d, x) select '${d}'::date, g from generate_series(1, ${n}) g`);

  beforeAll(async () => {
    env = await testEnv('statistics');
    await env.deps.analytics.query('create schema stats_test');
    await env.deps.analytics.query(`create table ${table} (d date not null, x int not null)`);
    await env.deps.analytics.query(`create index on ${table} (d)`);
    // 30 dates of 20,000 rows, analyzed: every date is a most common value.
    await env.deps.analytics.query(`insert into ${table} (d, x) select date '2030-01-01' + (g % 30), g from generate_series(1, 600000) g`);
    await env.deps.analytics.query(`analyze ${table}`);
  }, 120_000);
  afterAll(async () => {
    await env?.deps.analytics.query('drop schema if exists stats_test cascade');
    await env?.close();
  });

  it('names a table whose statistics underestimate a new date, which the 10 % rule misses, and not one whose dates they know', async () => {
    expect(await estimate('2030-02-15')).toBeLessThan(100); // a date the statistics have never seen
    const seen = await inTransaction(env.deps.analytics, async (client) => {
      const mark = await writeMark(client, [table]);
      await insert(client, '2030-02-15', 20_000); // 3 % of the table
      await insert(client, '2030-01-05', 5_000); // a date they know: 20,000 rows planned, 25,000 there
      await insert(client, '2030-02-16', 900); // too few to matter
      return {
        past: await outdatedSince(client, mark),
        newDate: await underestimatedDates(client, columns, ['2030-02-15']),
        known: await underestimatedDates(client, columns, ['2030-01-05', '2030-02-16']),
      };
    });
    expect(seen).toEqual({ past: [], newDate: [table], known: [] });
    await analyzeTables(env.deps.analytics, seen.newDate);
    expect(await estimate('2030-02-15')).toBeGreaterThan(5_000); // sampled: near 20,000
    await inTransaction(env.deps.analytics, async (client) => {
      expect(await underestimatedDates(client, columns, ['2030-02-15', '2030-01-05'])).toEqual([]);
    });
  });

  it('names a table this transaction changed past autovacuum\'s threshold, and only such', async () => {
    // The counters PostgreSQL keeps per connection still hold earlier transactions' writes: the mark takes them off.
    const changed = await inTransaction(env.deps.analytics, async (client) => {
      await insert(client, '2030-03-01', 60_000);
      await client.query('commit');
      await client.query('begin');
      const mark = await writeMark(client, [table, 'public.fact_event']);
      await insert(client, '2030-03-02', 30_000);
      const small = await outdatedSince(client, mark); // 30,000 since the mark, of ~630,000 planned
      await insert(client, '2030-03-03', 40_000); // 70,000: past 50 + 10 %
      return { small, large: await outdatedSince(client, mark) };
    });
    expect(changed).toEqual({ small: [], large: [table] });
  });

  it('says so when the role may not analyze a table (PostgreSQL only warns and skips it)', async () => {
    const { rows: [me] } = await env.deps.analytics.query<{ rolsuper: boolean }>('select rolsuper from pg_roles where rolname = current_user');
    expect(me?.rolsuper).toBe(false); // the pipeline's role, as in production
    await expect(analyzeTables(env.deps.analytics, ['pg_catalog.pg_authid'])).rejects.toThrow(/analyze pg_catalog.pg_authid: .*pg_authid/);
  });

  it('a failing check costs its answer, not the writer\'s transaction', async () => {
    const warned: string[] = [];
    const kept = await inTransaction(env.deps.analytics, async (client) => {
      await insert(client, '2030-04-01', 10);
      const tables = await tablesToAnalyze(client, async () => {
        await client.query('select 1 / 0');
        return [table];
      }, (m) => warned.push(m));
      const ok = await tablesToAnalyze(client, () => underestimatedDates(client, columns, ['2030-04-01']), (m) => warned.push(m)); // usable after it
      return { tables, ok, rows: (await client.query(`select count(*)::int as n from ${table} where d = '2030-04-01'`)).rows[0] as { n: number } };
    });
    expect(kept).toEqual({ tables: [], ok: [], rows: { n: 10 } });
    expect(warned).toEqual([expect.stringMatching(/statistics check failed.*division by zero/)]);
    expect((await env.deps.analytics.query(`select count(*)::int as n from ${table} where d = '2030-04-01'`)).rows[0]).toEqual({ n: 10 }); // committed
  });

  it('refuses names that are not plain identifiers', async () => {
    await expect(analyzeTables(env.deps.analytics, ['public.fact_event; drop table x'])).rejects.toThrow(/not a plain/);
    await inTransaction(env.deps.analytics, async (client) => {
      await expect(underestimatedDates(client, [{ table, column: 'd' }], ["2030-01-01' or true"])).rejects.toThrow(/not a date/);
    });
  });

  it('names a partitioned table never analyzed as a whole, or whose partitions grew 10 % past its statistics, and never a plain table', async () => {
    const parted = 'stats_test.by_date';
    await env.deps.analytics.query(`create table ${parted} (d date not null, x int not null) partition by list (d)`);
    const addDate = async (day: number, rows: number) => {
      const part = `${parted}_${day}`;
      await env.deps.analytics.query(`create table ${part} partition of ${parted} for values in (date '2031-01-01' + ${day})`);
      await env.deps.analytics.query(`insert into ${part} (d, x) select date '2031-01-01' + ${day}, g from generate_series(1, ${rows}) g`);
      await env.deps.analytics.query(`analyze ${part}`); // as work.load_events analyzes a date's new partition
    };
    const check = () => inTransaction(env.deps.analytics, (client) => partitionedOutdated(client, [parted, table]));
    await addDate(1, 5000);
    await addDate(2, 5000);
    expect(await check()).toEqual([parted]); // its partitions are analyzed, the table as a whole never was
    await analyzeTables(env.deps.analytics, [parted]);
    expect(await check()).toEqual([]);
    await addDate(3, 500); // 5 % more rows
    expect(await check()).toEqual([]);
    await addDate(4, 2000); // 25 % more than its statistics count
    expect(await check()).toEqual([parted]);
  });

  it('analyzes on the connection it is given, keeping it and its session lock, with no second one from the pool', async () => {
    // analyzeFactEvent (activities/transform/load.ts) holds a session lock on its connection while it
    // analyzes; a pool of one leaves no other, so analyzing through the pool would wait for ever.
    const single = new Pool({ connectionString: env.config.ANALYTICS_DATABASE_URL, max: 1, connectionTimeoutMillis: 3000 });
    const client = await single.connect();
    try {
      await client.query(`select pg_advisory_lock(hashtext('stats-test-lock'))`);
      await insert(client, '2032-06-01', 1000);
      const before = (await client.query<{ n: string }>(`select analyze_count::text as n from pg_stat_user_tables where relid = '${table}'::regclass`)).rows[0]?.n;
      await analyzeTables(client, [table]);
      const after = await client.query<{ n: string; lockTimeout: string; locks: string }>(
        `select analyze_count::text as n, current_setting('lock_timeout') as "lockTimeout",
                (select count(*)::text from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()) as locks
         from pg_stat_user_tables where relid = '${table}'::regclass`);
      expect(Number(after.rows[0]?.n)).toBeGreaterThan(Number(before));
      expect(after.rows[0]).toMatchObject({ lockTimeout: '0', locks: '1' });
      expect(single.totalCount).toBe(1);
    } finally {
      client.release();
      await single.end();
    }
  });
});
