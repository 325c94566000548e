import { createHash, createHmac, randomInt, randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTransformActivities } from '../../activities/transform';
import { CURATED_BY_DATE, curatedSql, PART_NAME } from '../../activities/transform/lake';
import { lakeKey } from '../../lib/lake';
import { lakeQuery } from '../../lib/lake-query';
import { deletePrefix, getObjectBytes, listObjects } from '../../lib/s3';
import { generateDataset } from '../../shop/generator';
import { partitionAt, partitionWorkflowId } from '../../workflows/partitions';
import { transformWorkflow } from '../../workflows/transform';
import { testEnv, type TestEnv } from '../support/env';
import { expectedMetrics } from '../support/transform-expected';
import { runTransforms } from '../support/transform-run';
import { seedStaging } from '../support/transform-seed';
import { until } from '../support/wait';

/** One comparable string per value, whichever library produced it. */
function canon(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'bigint' || typeof v === 'number') return Number(v).toFixed(2);
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return `${v}T00:00:00.000Z`;
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v)) return new Date(v).toISOString();
  return String(v);
}
const canonRow = (r: Record<string, unknown>) => Object.keys(r).sort().map((k) => `${k}=${canon(r[k])}`).join(';');

/**
 * The pseudonym as docs/transform.md specifies it, computed here rather than by lib/pseudonym.ts
 * (the code under test): HMAC-SHA256 of the raw user id under the key, hex, first 32 characters.
 */
const hmacId = (userId: string, key: string) => createHmac('sha256', key).update(userId, 'utf8').digest('hex').slice(0, 32);

/** The transform's text rule (work.norm_text): NFC, inner whitespace collapsed, trimmed; blank is null. */
const normText = (s: string | null) => s?.normalize('NFC').replace(/\s+/gu, ' ').trim() || null;

function roleUrl(url: string, role: string, db: string): string {
  const u = new URL(url);
  u.username = role;
  u.password = `${role}_dev`;
  u.pathname = `/${db}`;
  return u.toString();
}

describe('curated lake and privacy of the transform (real Temporal, PostgreSQL, S3)', () => {
  let env: TestEnv;
  let prefix: string;
  let dates: string[];
  let userIds: string[];

  beforeAll(async () => {
    env = await testEnv('transform-lake');
    prefix = `tl${randomUUID().slice(0, 6)}-`;
    const day = new Date(Date.UTC(2031, 0, 1) + randomInt(0, 20000) * 86_400_000).toISOString().slice(0, 10);
    const dir = mkdtempSync(join(tmpdir(), 'etl-transform-lake-'));
    await generateDataset({ seed: 5, start: day, days: 1, scale: 0.01, dirt: 'default', out: dir });
    const ex = expectedMetrics(dir, prefix);
    dates = [...ex.ordersByDate.keys()].sort();
    await seedStaging(env.deps.staging, dir, prefix, `test/${prefix}`);
    const { rows } = await env.deps.staging.query<{ user_id: string }>('select distinct user_id from staging.events where user_id like $1', [`${prefix}%`]);
    userIds = rows.map((r) => r.user_id);
    await runTransforms(env, [partitionAt('transform', new Date())], `/test-${prefix}`);
  }, 300_000);
  afterAll(async () => env?.close());

  it('pseudonymises user ids: no raw id in any text column of any analytics table', async () => {
    expect(userIds.length).toBeGreaterThan(10);
    const a = env.deps.analytics;
    const { rows: cols } = await a.query<{ s: string; t: string; c: string }>(
      `select c.table_schema s, c.table_name t, c.column_name c from information_schema.columns c
       join information_schema.tables t using (table_schema, table_name)
       where t.table_type = 'BASE TABLE' and c.table_schema not in ('pg_catalog', 'information_schema') and c.data_type in ('text', 'character varying')`,
    );
    expect(cols.length).toBeGreaterThan(20);
    for (const { s, t, c } of cols) {
      const { rows } = await a.query<{ n: string }>(`select count(*) n from "${s}"."${t}" where "${c}" like $1`, [`${prefix}U%`]);
      expect(Number(rows[0]?.n), `${s}.${t}.${c}`).toBe(0);
    }
    // ...and the pseudonyms are really there: HMAC of the raw id with the configured key, and
    // with no other key (nor unkeyed): another key gives other ids, none of which analytics holds.
    const found = async (ids: string[]) => Number((await a.query<{ n: string }>('select count(distinct customer_id) n from fact_event where customer_id = any($1)', [ids])).rows[0]?.n);
    const hashed = userIds.map((u) => hmacId(u, env.config.PSEUDONYM_KEY));
    expect(hashed.every((h) => /^[0-9a-f]{32}$/.test(h))).toBe(true);
    expect(await found(hashed)).toBe(userIds.length);
    const otherKey = `${env.config.PSEUDONYM_KEY}-other`;
    const other = userIds.map((u) => hmacId(u, otherKey));
    expect(other.filter((h, i) => h === hashed[i])).toEqual([]);
    expect(await found(other)).toBe(0);
    expect(await found(userIds.map((u) => createHash('sha256').update(u, 'utf8').digest('hex').slice(0, 32)))).toBe(0);
  });

  it('masks names for etl_analyst, shows them to etl_analyst_pii, and keeps analysts off base tables and staging', async () => {
    const connect = async (role: string, db: string) => {
      const c = new Client({ connectionString: roleUrl(env.config.ANALYTICS_DATABASE_URL, role, db) });
      await c.connect();
      return c;
    };
    // The real names: each user's latest staged version that has one, as the dataset wrote it.
    const { rows: versions } = await env.deps.staging.query<{ user_id: string; user_name: string | null }>(
      'select user_id, user_name from staging.users where user_id like $1 order by updated_at', [`${prefix}%`]);
    const realName = new Map<string, string>();
    for (const v of versions) {
      const name = normText(v.user_name);
      if (name) realName.set(hmacId(v.user_id, env.config.PSEUDONYM_KEY), name);
    }
    const ids = userIds.map((u) => hmacId(u, env.config.PSEUDONYM_KEY));
    type Row = { event_id: string; user_id: string; user_name: string | null };
    const sorted = (rows: Row[]) => [...rows].sort((x, y) => x.event_id.localeCompare(y.event_id) || x.user_id.localeCompare(y.user_id));
    // Every event of the test's users on its dates, each with its user's real name.
    const { rows: facts } = await env.deps.analytics.query<{ event_id: string; customer_id: string }>(
      'select event_id, customer_id from fact_event where event_date = any($1::date[]) and customer_id = any($2)', [dates, ids]);
    const expected = sorted(facts.map((f) => ({ event_id: f.event_id, user_id: f.customer_id, user_name: realName.get(f.customer_id) ?? null })));
    expect(expected.length).toBeGreaterThan(50);
    expect(expected.filter((r) => r.user_name !== null).length).toBeGreaterThan(50);
    const masked = (name: string | null) => (name === null ? null : `${Array.from(name)[0] ?? ''}***`);

    const sql = 'select event_id, user_id, user_name from user_behavior where date = any($1::date[]) and user_id = any($2)';
    const analytics = new URL(env.config.ANALYTICS_DATABASE_URL).pathname.slice(1); // the file's own (test/file-setup.ts)
    const analyst = await connect('etl_analyst', analytics);
    const pii = await connect('etl_analyst_pii', analytics);
    try {
      expect(sorted((await pii.query<Row>(sql, [dates, ids])).rows)).toEqual(expected);
      expect(sorted((await analyst.query<Row>(sql, [dates, ids])).rows)).toEqual(expected.map((r) => ({ ...r, user_name: masked(r.user_name) })));
      await expect(analyst.query('select user_name from dim_customer limit 1')).rejects.toThrow(/permission denied/);
      await expect(analyst.query('select * from work.events limit 1')).rejects.toThrow(/permission denied/);
    } finally {
      await analyst.end();
      await pii.end();
    }
    await expect(connect('etl_analytics', new URL(env.config.STAGING_DATABASE_URL).pathname.slice(1))).rejects.toThrow(/permission denied|not permitted/);
  });

  /** Every curated file of the dates read back (hyparquet) equal to analytics row for row; returns the rows compared. */
  const expectCuratedEqualsAnalytics = async (days: string[]): Promise<number> => {
    const { parquetReadObjects } = await import('hyparquet');
    const client = await env.deps.analytics.connect();
    let compared = 0;
    try {
      await client.query(`set timezone = 'UTC'`);
      for (const d of days) {
        for (const [table, query] of Object.entries(CURATED_BY_DATE)) {
          const { rows } = await client.query<{ j: Record<string, unknown> }>(`select row_to_json(t) j from (${curatedSql(query, d)}) t`);
          const key = lakeKey('curated', table, d, PART_NAME);
          const listed = await listObjects(env.deps.s3, env.deps.bucket, key.slice(0, key.lastIndexOf('/') + 1));
          if (rows.length === 0) {
            expect(listed, key).toEqual([]);
            continue;
          }
          expect(listed.map((o) => o.key), key).toEqual([key]);
          const bytes = await getObjectBytes(env.deps.s3, env.deps.bucket, key);
          const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
          const parquet = (await parquetReadObjects({ file })) as Array<Record<string, unknown>>;
          expect(parquet.map(canonRow), key).toEqual(rows.map((r) => canonRow(r.j)));
          for (const r of parquet) for (const v of Object.values(r)) if (typeof v === 'string') expect(v.startsWith(`${prefix}U`), key).toBe(false);
          compared += parquet.length;
        }
      }
    } finally {
      client.release();
    }
    return compared;
  };

  it('writes curated Parquet (DuckDB) that hyparquet reads back equal to analytics, row for row, with no raw user id', async () => {
    expect(await expectCuratedEqualsAnalytics(dates)).toBeGreaterThan(100);
  });

  it('a scheduled hour, a backfill of the same hour and the hour before, run at once while new events arrive, leave the curated lake equal to analytics', async () => {
    // Issue 13's overlapping runs: writeCuratedDate holds the date's lock over its snapshot and its
    // uploads, so a copy read before another run's load cannot be uploaded after that run's copy.
    const now = new Date();
    const hour = partitionAt('transform', now);
    const before = partitionAt('transform', new Date(now.getTime() - 3_600_000));
    await env.withWorker(async () => {
      for (let round = 0; round < 3; round++) {
        // New events of every test date, arrived now: each run's window sees them, and each run's
        // dates change under the others.
        const { rowCount } = await env.deps.staging.query(
          `insert into staging.events (event_id, event_name, user_id, session_id, product_id, order_id, price, ts, kafka_partition, kafka_offset, load_id)
           select event_id || '-ov' || $2::int, event_name, user_id, session_id, product_id, order_id, price, ts, kafka_partition, kafka_offset, load_id
           from staging.events where event_id like $1 and event_id not like '%-ov%' and (abs(hashtext(event_id)) % 10) = $2::int`, [`${prefix}%`, round]);
        expect(rowCount).toBeGreaterThan(0);
        const runs: Array<[string, typeof hour]> = [[`/ov${round}-scheduled`, hour], [`/ov${round}-backfill`, { ...hour, backfill: true }], [`/ov${round}-hour-before`, before]];
        await Promise.all(runs.map(([suffix, p]) => env.client.workflow.execute(transformWorkflow, { taskQueue: env.taskQueue, workflowId: partitionWorkflowId('transform', p.partitionStart) + suffix, args: [p] })));
      }
    });
    expect(await expectCuratedEqualsAnalytics(dates)).toBeGreaterThan(100);
  }, 300_000);

  it("a curated copy read before another run loads its date is uploaded before that run's own, not after: the date lock, shown with a pause between snapshot and upload", async () => {
    // Run A snapshots date d and stops before uploading user_behavior (a test pause inside
    // writeCurated). New events of d arrive, and run B extracts and loads them. B's load needs d's
    // lock, which A holds until its uploads are done, so B waits; A is let go once B waits (or once
    // B has finished, which only happens without the lock: then A's old copy lands last).
    // A date with events (their user_behavior rows change).
    const { rows: busiest } = await env.deps.staging.query<{ d: string }>(
      `select to_char((ts at time zone 'UTC')::date, 'YYYY-MM-DD') d from staging.events where event_id like $1 group by 1 order by count(*) desc limit 1`, [`${prefix}%`]);
    const d = busiest[0]?.d as string;
    expect(dates).toContain(d);
    let reached: () => void = () => undefined;
    const atPause = new Promise<void>((r) => (reached = r));
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    let pauses = 0;
    const held = createTransformActivities({ ...env.deps, beforeUpload: async (date: string, table: string) => {
      if (date !== d || table !== 'user_behavior' || pauses++ > 0) return;
      reached();
      await released;
    } });
    const a = held.writeCuratedDate({ date: d });
    try {
      await atPause;
      const { rowCount } = await env.deps.staging.query(
        `insert into staging.events (event_id, event_name, user_id, session_id, product_id, order_id, price, ts, kafka_partition, kafka_offset, load_id)
         select event_id || '-lk', event_name, user_id, session_id, product_id, order_id, price, ts, kafka_partition, kafka_offset, load_id
         from staging.events where event_id like $1 and event_id not like '%-ov%' and event_id not like '%-lk' and (ts at time zone 'UTC')::date = $2::date limit 50`, [`${prefix}%`, d]);
      expect(rowCount).toBeGreaterThan(0);
      let bDone = false;
      const part = partitionAt('transform', new Date());
      const b = env.withWorker(() => env.client.workflow.execute(transformWorkflow, { taskQueue: env.taskQueue, workflowId: `${partitionWorkflowId('transform', part.partitionStart)}/lock-${prefix}`, args: [part] }))
        .finally(() => { bDone = true; });
      const waiting = async () => (await env.deps.analytics.query(
        `select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and wait_event = 'advisory' and query like '%transform-date%'`)).rows.length > 0;
      const bWaited = await until('run B waiting for the date lock, or finished', async () => (bDone ? 'finished' : (await waiting()) ? 'waited' : undefined), 120_000, 50);
      release();
      await a;
      await b;
      const { rows } = await env.deps.analytics.query<{ n: string }>(`select count(*) n from user_behavior where date = $1 and event_id like '%-lk'`, [d]);
      expect(Number(rows[0]?.n)).toBe(rowCount);
      // The lake equals analytics (without the lock, A's old user_behavior lands after B's), and B did wait.
      await expectCuratedEqualsAnalytics([d]);
      expect(bWaited).toBe('waited');
    } finally {
      release(); // a failure above must not leave run A paused with its lock and connection
      await a.catch(() => undefined);
    }
  }, 180_000);

  it('etl lake query answers a dt-filtered query from the matching objects only', async () => {
    const d = dates[dates.length - 1]!;
    const sql = `select order_date, orders, revenue from orders_by_date where dt = '${d}'`;
    const r = await lakeQuery(env.deps.s3, env.deps.bucket, sql);
    const { rows } = await env.deps.analytics.query<{ order_date: string; orders: number; revenue: string }>(
      `select to_char(order_date, 'YYYY-MM-DD') order_date, orders, revenue::text from orders_by_date where order_date = $1`, [d]);
    expect(r.rows).toEqual(rows.map((x) => ({ order_date: x.order_date, orders: x.orders, revenue: x.revenue })));
    expect(r.objectsRead).toBe(1);
    expect(r.objectsTotal).toBeGreaterThan(1);
    const cli = await promisify(execFile)('npx', ['tsx', 'cli/main.ts', 'lake', 'query', sql, '--json', '--verbose'], { cwd: join(__dirname, '..', '..') });
    expect(JSON.parse(cli.stdout)).toEqual(r.rows);
    expect(cli.stderr).toContain('read 1 of');
  }, 60_000);

  it("an inferred customer reaches the curated dim_customer snapshot even when the load that inferred it lost its result: the mark commits with the load", async () => {
    const { parquetReadObjects } = await import('hyparquet');
    const acts = createTransformActivities(env.deps);
    // A date with events: new events of it make the workflow below rebuild it.
    const { rows: busiest } = await env.deps.staging.query<{ d: string }>(
      `select to_char((ts at time zone 'UTC')::date, 'YYYY-MM-DD') d from staging.events where event_id like $1 group by 1 order by count(*) desc limit 1`, [`${prefix}%`]);
    const d = busiest[0]?.d as string;
    expect(dates).toContain(d);
    const partition = `transform/test-dims-${prefix}`;
    const snapshotIds = async (dt: string) => {
      const bytes = await getObjectBytes(env.deps.s3, env.deps.bucket, lakeKey('curated', 'dim_customer', dt, PART_NAME));
      const rows = await parquetReadObjects({ file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer });
      return new Set((rows as Array<{ customer_id: string }>).map((r) => r.customer_id));
    };
    const pending = async () => Number((await env.deps.analytics.query<{ n: string }>('select count(*) n from work.dims_pending')).rows[0]?.n);
    await env.deps.analytics.query('delete from work.dims_pending');

    // A load that infers a customer reports it, and its mark is committed with it.
    const first = `${prefix}C-inferred-1`;
    await env.deps.analytics.query('select work.add_event_partitions(array[$1::date])', [d]);
    await env.deps.analytics.query(`insert into work.events (event_id, event_name, customer_id, session_id, ts, event_date) values ($1, 'view', $2, 's-dims', $3::date + interval '1 hour', $3::date)`, [`${prefix}E-dims-1`, first, d]);
    const loaded = await acts.loadAnalyticsDate({ date: d, partition });
    expect(loaded.dimsInferred).toBeGreaterThan(0);
    expect(loaded.dimsPending).toBe(true);
    // Its retry after that commit (the result lost to a worker kill) infers nothing now, but the
    // mark still says a snapshot is due.
    const retried = await acts.loadAnalyticsDate({ date: d, partition });
    expect(retried.dimsInferred).toBeUndefined();
    expect(retried.dimsPending).toBe(true);
    // The snapshot covers the marks it saw, and deletes them.
    await acts.writeCuratedDimensions({ date: d });
    expect((await snapshotIds(d)).has(first)).toBe(true);
    expect(await pending()).toBe(0);
    expect((await acts.loadAnalyticsDate({ date: d, partition })).dimsPending).toBeUndefined();
    // A snapshot a backfilled hour writes under its old dt leaves the latest one stale: its marks stay.
    await env.deps.analytics.query('insert into work.dims_pending (load_date, rows) values ($1::date, 1)', [d]);
    await acts.writeCuratedDimensions({ date: '2001-01-01' });
    expect(await pending()).toBe(1);
    for (const t of ['dim_customer', 'dim_product']) await deletePrefix(env.deps.s3, env.deps.bucket, `curated/${t}/dt=2001-01-01/`);

    // Through the workflow: a committed load's mark, its result lost, and then a run whose own
    // loads infer nothing and whose catalog did not change. It must still write the snapshot.
    const second = `${prefix}C-inferred-2`;
    await env.deps.analytics.query(`insert into work.events (event_id, event_name, customer_id, session_id, ts, event_date) values ($1, 'view', $2, 's-dims', $3::date + interval '2 hours', $3::date)`, [`${prefix}E-dims-2`, second, d]);
    expect((await acts.loadAnalyticsDate({ date: d, partition })).dimsInferred).toBeGreaterThan(0);
    const { rowCount } = await env.deps.staging.query(
      `insert into staging.events (event_id, event_name, user_id, session_id, product_id, order_id, price, ts, kafka_partition, kafka_offset, load_id)
       select event_id || '-dp', event_name, user_id, session_id, product_id, order_id, price, ts, kafka_partition, kafka_offset, load_id
       from staging.events where event_id like $1 and (ts at time zone 'UTC')::date = $2::date and event_id not like '%-lk' and event_id not like '%-dp' limit 5`, [`${prefix}%`, d]);
    expect(rowCount).toBeGreaterThan(0);
    const part = partitionAt('transform', new Date());
    const out = await runTransforms(env, [part], `/dims-${prefix}`);
    expect(out[0]?.dates).toContain(d);
    expect((await snapshotIds(part.partitionStart.slice(0, 10))).has(second)).toBe(true);
    expect(await pending()).toBe(0);
  }, 180_000);

  it('fails a date load non-retryably, naming the partition and the date, when analytics rejects it', async () => {
    const acts = createTransformActivities(env.deps);
    const failure = acts.loadAnalyticsDate({ date: '2031-02-30', partition: 'transform/test-bug' });
    await expect(failure).rejects.toMatchObject({ nonRetryable: true, type: 'Postgres22008' });
    await expect(failure).rejects.toThrow(/transform\/test-bug: loading analytics date 2031-02-30 failed/);
  });
});
