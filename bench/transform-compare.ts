/**
 * The transform against the baselines it must beat (issue 11, P3), in one run on one dataset:
 * generates a day (`--dirt none`), runs the project's transform on it (staged as in
 * bench/transform-day.ts, then the hour's activities in the workflow's order: dedup, cleaning,
 * pseudonymisation, quarantine, star schema, metrics, curated Parquet), a DuckDB job and a PySpark
 * local[2] job that compute the brief's metrics from the same files (bench/compare/), prints the
 * three times and the ratios, and checks that the three agree on the five contract metrics. It
 * also times a floor (eventsFloor): the day's events moved once into a table indexed as fact_event,
 * the least the project's path for the events costs (one COPY stream, one index build at a time),
 * against the same baselines.
 *
 * PySpark lives in a venv under ETL_CACHE_DIR (bench-venv, made on first use with pip from PyPI;
 * Java 17 runs it). Bench only: no test needs it. `--no-spark` leaves it out.
 *
 *   npx tsx bench/transform-compare.ts [--scale 10] [--no-spark]
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { createTransformActivities } from '../activities/transform';
import { loadConfig } from '../config';
import { generateDataset } from '../shop/generator';
import { seedStaging } from '../test/support/transform-seed';
import { buildDeps } from '../workers/deps';
import { transferRows } from '../lib/copy-transfer';
import { CONTRACT_READS, METRICS, sourceViews } from './compare/metrics-sql';
import { transformHour } from './transform-day';

const run = promisify(execFile);
type Rows = Array<Record<string, string>>;
type Contract = Record<string, Rows>;

/** Every value as text, so the three engines' numbers compare (123.40 is 123.40 everywhere). */
const norm = (rows: Array<Record<string, unknown>>): Rows => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)])));

async function duckdbJob(dir: string): Promise<{ seconds: number; contract: Contract }> {
  const t0 = performance.now();
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const con = await db.connect();
  try {
    await con.run(`set TimeZone = 'UTC'`);
    for (const [name, sql] of sourceViews('duckdb', dir)) await con.run(`create view ${name} as ${sql}`);
    for (const [name, sql] of METRICS) await con.run(`create table ${name} as ${sql}`);
    const seconds = (performance.now() - t0) / 1000;
    const contract: Contract = {};
    for (const [name, sql] of Object.entries(CONTRACT_READS)) contract[name] = norm((await con.runAndReadAll(sql)).getRowObjectsJson() as Array<Record<string, unknown>>);
    return { seconds, contract };
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

async function sparkPython(cacheDir: string): Promise<string> {
  const venv = join(cacheDir, 'bench-venv');
  const python = join(venv, 'bin', 'python');
  if (existsSync(join(venv, '.pyspark-ok'))) return python;
  console.log(`installing PySpark into ${venv} (pip, from PyPI; once)`);
  await run('python3', ['-m', 'venv', venv]);
  await run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', 'pyspark'], { maxBuffer: 64 << 20 });
  writeFileSync(join(venv, '.pyspark-ok'), 'pyspark\n');
  return python;
}

async function sparkJob(dir: string, cacheDir: string): Promise<{ seconds: number; jobSeconds: number; contract: Contract }> {
  const python = await sparkPython(cacheDir);
  const job = join(dir, 'spark-job.json');
  writeFileSync(job, JSON.stringify({ dir, views: sourceViews('spark', dir), metrics: METRICS, reads: CONTRACT_READS }));
  const t0 = performance.now();
  const { stdout } = await run(python, [join(__dirname, 'compare', 'spark_job.py'), job], { maxBuffer: 1 << 30, env: { ...process.env, SPARK_LOCAL_IP: '127.0.0.1', PYSPARK_PYTHON: python } });
  const seconds = (performance.now() - t0) / 1000;
  const out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { jobSeconds: number; contract: Record<string, Array<Record<string, unknown>>> };
  return { seconds, jobSeconds: out.jobSeconds, contract: Object.fromEntries(Object.entries(out.contract).map(([k, v]) => [k, norm(v)])) };
}

/** The project's five contract metrics for the dataset's dates and the bench's products (prefix stripped). */
async function projectContract(deps: ReturnType<typeof buildDeps>, dates: string[], prefix: string): Promise<Contract> {
  const q = async (sql: string, params: unknown[]) => norm((await deps.analytics.query(sql, params)).rows as Array<Record<string, unknown>>);
  return {
    orders_by_date: await q(`select order_date::text as order_date, orders::text as orders, revenue::text as revenue from orders_by_date where order_date = any($1::date[]) order by 1`, [dates]),
    // The view sums whole months, which other runs' days may share: the same sum over this run's dates.
    monthly_revenue: await q(`select date_trunc('month', order_date)::date::text as month, sum(orders)::text as orders, sum(revenue)::text as revenue
                              from orders_by_date where order_date = any($1::date[]) group by 1 order by 1`, [dates]),
    daily_traffic: await q(`select event_date::text as event_date, event_name, events::text as events from daily_traffic where event_date = any($1::date[]) order by 1, 2`, [dates]),
    daily_unique_visitors: await q(`select event_date::text as event_date, visitors::text as visitors from daily_unique_visitors where event_date = any($1::date[]) order by 1`, [dates]),
    product_sales: await q(`select substr(product_id, $1::int + 1) as product_id, units::text as units, revenue::text as revenue from product_sales
                            where product_id like $2 and units > 0 order by 1`, [prefix.length, `${prefix}%`]),
  };
}

/** Names the first difference, or undefined when the two agree on every contract metric. */
function disagreement(a: Contract, b: Contract): string | undefined {
  for (const name of Object.keys(CONTRACT_READS)) {
    const x = a[name] ?? [];
    const y = b[name] ?? [];
    if (x.length !== y.length) return `${name}: ${x.length} rows vs ${y.length}`;
    for (let i = 0; i < x.length; i++) {
      if (JSON.stringify(x[i]) !== JSON.stringify(y[i])) return `${name} row ${i}: ${JSON.stringify(x[i])} vs ${JSON.stringify(y[i])}`;
    }
  }
  return undefined;
}

/**
 * A floor under the project's path for the events into fact_event: the day's events moved once
 * from staging, in one COPY stream through Node, into a logged analytics table, then indexed as fact_event's partitions
 * are (its catalog's indexes, built after the rows, as work.load_events builds a new date). No
 * dedup, cleaning, pseudonymising, other facts, metrics or Parquet. Rolled back.
 */
async function eventsFloor(deps: ReturnType<typeof buildDeps>, prefix: string): Promise<number> {
  const src = await deps.staging.connect();
  const dst = await deps.analytics.connect();
  const cols = ['event_date', 'event_id', 'event_name', 'customer_id', 'session_id', 'product_id', 'order_id', 'price', 'ts'];
  try {
    const t = performance.now();
    await dst.query('begin');
    await dst.query('create table work.bench_floor_events (like fact_event)');
    await src.query('begin isolation level repeatable read read only');
    await transferRows(src, `select (ts at time zone 'UTC')::date, event_id, event_name, user_id, session_id, product_id, order_id, price, ts
                             from staging.events where event_id like $$${prefix}%$$`, dst, 'work.bench_floor_events', cols);
    await dst.query(`select work.build_fact_event_indexes('work.bench_floor_events')`);
    return (performance.now() - t) / 1000;
  } finally {
    await src.query('rollback').catch(() => undefined);
    await dst.query('rollback').catch(() => undefined);
    src.release();
    dst.release();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { scale: { type: 'string', default: '10' }, 'no-spark': { type: 'boolean', default: false } } });
  const scale = Number(values.scale);
  const config = loadConfig();
  const day = new Date(Date.UTC(2100, 0, 1) + randomInt(0, 3000) * 86_400_000).toISOString().slice(0, 10);
  const prefix = `c${randomInt(1e6).toString(36)}-`;
  const dir = mkdtempSync(join(tmpdir(), 'bench-compare-'));
  const deps = buildDeps(config);
  try {
    const m = await generateDataset({ seed: 1, start: day, days: 1, scale, dirt: 'none', out: dir });
    console.log(`scale ${scale}, day ${day}: ${m.manifest.totals.rows} rows generated (--dirt none) in ${dir}`);
    await seedStaging(deps.staging, dir, prefix, `bench/${prefix}`, new Date(`${day}T23:30:00Z`));
    const project = await transformHour(createTransformActivities(deps), `${day}T23:30:00Z`, `${prefix}compare`);
    const duck = await duckdbJob(dir);
    const floor = await eventsFloor(deps, prefix);
    const dates = (duck.contract.orders_by_date ?? []).map((r) => r.order_date as string)
      .concat((duck.contract.daily_traffic ?? []).map((r) => r.event_date as string));
    const mine = await projectContract(deps, [...new Set(dates)], prefix);
    let spark: Awaited<ReturnType<typeof sparkJob>> | undefined;
    if (!values['no-spark']) {
      try {
        spark = await sparkJob(dir, config.ETL_CACHE_DIR);
      } catch (err) {
        console.log(`PySpark could not run here, so it is left out: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      }
    }
    console.log('\n| engine | seconds | project / engine |\n| --- | ---: | ---: |');
    console.log(`| project transform (first run) | ${project.toFixed(1)} | 1.00 |`);
    if (spark) console.log(`| PySpark local[2] (job; with JVM and session start) | ${spark.jobSeconds.toFixed(1)} (${spark.seconds.toFixed(1)}) | ${(project / spark.jobSeconds).toFixed(2)} (${(project / spark.seconds).toFixed(2)}) |`);
    console.log(`| DuckDB (2 threads) | ${duck.seconds.toFixed(1)} | ${(project / duck.seconds).toFixed(2)} |`);
    console.log(`| floor: the day's events moved once from staging into a table indexed as fact_event (nothing else) | ${floor.toFixed(1)} | ${(project / floor).toFixed(2)} |`);
    console.log(`floor / DuckDB: ${(floor / duck.seconds).toFixed(2)} (the project's path, one COPY stream and one index build at a time, cannot get under it)${spark ? `; floor / PySpark job: ${(floor / spark.jobSeconds).toFixed(2)}` : ''}`);
    console.log(`\ngoals: project ≤ 1/3 of PySpark (ratio ≤ 0.33) and ≤ 3× DuckDB (ratio ≤ 3)`);
    const checks: Array<[string, string | undefined]> = [['project vs DuckDB', disagreement(mine, duck.contract)]];
    if (spark) checks.push(['PySpark vs DuckDB', disagreement(spark.contract, duck.contract)]);
    for (const [what, diff] of checks) console.log(`${what}: ${diff ? `DISAGREE, ${diff}` : 'agree on the five contract metrics'}`);
    if (checks.some(([, d]) => d)) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await deps.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
