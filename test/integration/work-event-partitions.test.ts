import { randomInt } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractSource, type ExtractInput } from '../../activities/transform/extract';
import { testEnv, type TestEnv } from '../support/env';

/**
 * work.events holds one partition per date (sql/analytics/073); the extract builds a new date's
 * partition from the window's rows (activities/transform/extract.ts, mergePartitioned). Each test
 * uses dates of its own, far from the others' (a year picked per run).
 */
describe('work.events by date (real PostgreSQL)', () => {
  let env: TestEnv;
  const year = 2300 + randomInt(0, 600);
  const day = (d: number) => `${year}-04-${String(d).padStart(2, '0')}`;
  const ymd = (d: string) => d.replace(/-/g, '');
  const deps = () => ({ staging: env.deps.staging, analytics: env.deps.analytics, s3: env.deps.s3, bucket: env.deps.bucket, pseudonymKey: env.deps.pseudonymKey });
  const extract = (input: Omit<ExtractInput, 'source'>) => extractSource(deps(), { source: 'events', ...input });

  /** `n` events into staging, `every` ms apart from `start`, ids `<tag>-<g>`; `name` gives the event_name. */
  const stage = (tag: string, start: string, n: number, every: number, name = `'view'`) => env.deps.staging.query(
    `insert into staging.events (event_id, event_name, user_id, session_id, product_id, order_id, price, ts, kafka_partition, kafka_offset, load_id)
     select $1 || '-' || g, ${name}, 'U' || (g % 50), 'S' || (g % 200), 'P1', null, null, $2::timestamptz + g * $3 * interval '1 ms', 0, g, 'test/work-event-partitions'
     from generate_series(1, $4::int) g`, [tag, start, every, n]);
  const partition = async (d: string) => (await env.deps.analytics.query<{ bound: string | null; key: string | null; analyzed: boolean }>(
    `select pg_get_expr(c.relpartbound, c.oid) as bound,
            (select pg_get_indexdef(i.indexrelid) from pg_index i where i.indrelid = c.oid and i.indisprimary) as key,
            s.analyze_count > 0 as analyzed
     from pg_class c join pg_inherits h on h.inhrelid = c.oid and h.inhparent = 'work.events'::regclass
     left join pg_stat_user_tables s on s.relid = c.oid where c.oid = to_regclass($1)`, [`work.events_${ymd(d)}`])).rows[0];
  const count = async (d: string, tag: string) => Number((await env.deps.analytics.query<{ n: string }>(
    'select count(*) as n from work.events where event_date = $1 and event_id like $2', [d, `${tag}-%`])).rows[0]?.n);

  beforeAll(async () => {
    env = await testEnv('work-event-partitions');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('builds a new date\'s partition from the window, keyed, analyzed and attached; a later window merges into it, its repeats duplicates', async () => {
    const d = day(3);
    await stage('a', `${d}T00:00:00Z`, 2000, 20_000); // 2000 events over 11 hours of d
    const first = await extract({ partitionStart: `${d}T00:00:00Z`, partitionEnd: `${d}T12:00:00Z`, loadId: `test/wep/${year}/1` });
    expect(first.load).toMatchObject({ received: 2000, loaded: 2000, duplicates: 0 });
    expect(first.dates).toEqual([d]);
    expect(await partition(d)).toEqual({ bound: `FOR VALUES IN ('${d}')`, key: expect.stringMatching(/UNIQUE INDEX .* \(event_date, event_id\)$/), analyzed: true });
    expect(await count(d, 'a')).toBe(2000);
    // Later arrivals of the same date and the same rows again: into the partition, the repeats counted.
    await stage('b', `${d}T12:00:00Z`, 500, 60_000);
    const second = await extract({ partitionStart: `${d}T00:00:00Z`, partitionEnd: `${d}T23:00:00Z`, loadId: `test/wep/${year}/2` });
    expect(second.load).toMatchObject({ received: 2500, loaded: 500, duplicates: 2000 });
    expect([await count(d, 'a'), await count(d, 'b')]).toEqual([2000, 500]);
    // Grown past autovacuum's threshold (50 + 10 % of 2000): analyzed right after the commit, not a minute later.
    const planned = (await env.deps.analytics.query<{ n: number }>('select reltuples as n from pg_class where oid = to_regclass($1)', [`work.events_${ymd(d)}`])).rows[0]?.n;
    expect(planned).toBe(2500);
    // ts decides the date: the table's check refuses a row filed under another one.
    await expect(env.deps.analytics.query(`insert into work.events (event_id, event_name, customer_id, session_id, ts, event_date) values ('x-wrong', 'view', 'c', 's', $1::date + interval '1 day 1 hour', $1::date)`, [d]))
      .rejects.toThrow(/events_event_date/);
  });

  it('builds many new dates of one window (a backfill\'s) from one cleaned copy, each date its own partition', async () => {
    await stage('m', `${day(11)}T23:58:33.6Z`, 4000, 86_400); // 4000 events over 4 days, the first at 00:00 of the first
    await stage('mq', `${day(13)}T05:00:00Z`, 10, 1_000, `'teleport'`); // quarantined, not stored
    const out = await extract({ partitionStart: `${day(12)}T02:00:00Z`, partitionEnd: `${day(16)}T00:00:00Z`, loadId: `test/wep/${year}/m` });
    expect(out.load).toMatchObject({ received: 4010, loaded: 4000, quarantined: 10 });
    const days = [day(12), day(13), day(14), day(15)];
    expect(await Promise.all(days.map((d) => count(d, 'm')))).toEqual([1000, 1000, 1000, 1000]);
    expect((await Promise.all(days.map(partition))).map((p) => p?.bound)).toEqual(days.map((d) => `FOR VALUES IN ('${d}')`));
  });

  it('two extracts racing for the same new date both finish: one builds its partition, the other merges into it, every event once', async () => {
    const d = day(10);
    await stage('r', `${d}T00:00:00Z`, 20_000, 4_000); // 20k events over 22 hours of d
    // The date's lock, held here until both extracts wait for it: then they build d one after the other.
    const holder = await env.deps.analytics.connect();
    try {
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock(hashtext('work.events-partition:' || $1))`, [d]);
      // Two backfill windows over d (each sees all of it with the other's 2 h look-back), started together.
      const both = Promise.all([
        extract({ partitionStart: `${d}T02:00:00Z`, partitionEnd: `${day(11)}T00:00:00Z`, loadId: `test/wep/${year}/r1` }),
        extract({ partitionStart: `${d}T01:00:00Z`, partitionEnd: `${day(11)}T00:00:00Z`, loadId: `test/wep/${year}/r2` }),
      ]);
      let waiting = 0;
      for (let i = 0; i < 3000 && waiting < 2; i++) {
        waiting = Number((await env.deps.analytics.query<{ n: string }>(`select count(*) as n from pg_locks where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())`)).rows[0]?.n);
        if (waiting < 2) await new Promise((r) => setTimeout(r, 20));
      }
      expect(waiting).toBe(2);
      await holder.query('commit');
      const [x, y] = await both;
      // One built the partition with every event; the other found it built after the lock and merged nothing new.
      expect([x.load.loaded, y.load.loaded].sort((a, b) => a - b)).toEqual([0, 20_000]);
    } finally {
      await holder.query('rollback').catch(() => undefined);
      holder.release();
    }
    expect(await count(d, 'r')).toBe(20_000);
    expect((await partition(d))?.bound).toBe(`FOR VALUES IN ('${d}')`);
  });

  it('a date\'s load reads and locks only that date\'s work partition, however many dates there are', async () => {
    const dates = [day(23), day(24), day(25), day(26)];
    await env.deps.analytics.query('select work.add_event_partitions($1::date[])', [dates]);
    const client = await env.deps.analytics.connect();
    try {
      await client.query('begin');
      for (const f of ['infer_dimensions', 'load_facts', 'refresh_metrics']) await client.query(`select work.${f}($1::date)`, [day(24)]);
      // Partitions of work.events and their indexes that this transaction holds a lock on.
      const { rows } = await client.query<{ name: string }>(
        `select distinct coalesce(p.relname, c.relname) as name from pg_locks l join pg_class c on c.oid = l.relation
         left join pg_index i on i.indexrelid = c.oid left join pg_class p on p.oid = i.indrelid
         join pg_inherits h on h.inhrelid = coalesce(p.oid, c.oid) and h.inhparent = 'work.events'::regclass
         where l.pid = pg_backend_pid()`);
      expect(rows.map((r) => r.name)).toEqual([`events_${ymd(day(24))}`]);
    } finally {
      await client.query('rollback').catch(() => undefined);
      client.release();
    }
  });

  it('gives a date whose rows are all quarantined no partition, and add_event_partitions makes empty ones for rows inserted by hand', async () => {
    const d = day(20);
    await stage('q', `${d}T00:00:00Z`, 30, 1_000, `'teleport'`);
    const out = await extract({ partitionStart: `${d}T00:00:00Z`, partitionEnd: `${d}T01:00:00Z`, loadId: `test/wep/${year}/q` });
    expect(out.load).toMatchObject({ received: 30, loaded: 0, quarantined: 30 });
    expect(await partition(d)).toBeUndefined();
    // No partition, no row: and the helper makes one (twice is once).
    await expect(env.deps.analytics.query(`insert into work.events (event_id, event_name, customer_id, session_id, ts, event_date) values ('h-1', 'view', 'c', 's', $1::date + interval '1 hour', $1::date)`, [d]))
      .rejects.toThrow(/no partition/);
    await env.deps.analytics.query('select work.add_event_partitions(array[$1::date, $1::date])', [d]);
    await env.deps.analytics.query('select work.add_event_partitions(array[$1::date])', [d]);
    await env.deps.analytics.query(`insert into work.events (event_id, event_name, customer_id, session_id, ts, event_date) values ('h-1', 'view', 'c', 's', $1::date + interval '1 hour', $1::date)`, [d]);
    expect(await count(d, 'h')).toBe(1);
    expect((await partition(d))?.key).toMatch(/\(event_date, event_id\)$/);
  });
});
