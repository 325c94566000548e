/**
 * Wall time of `etl backfill orders,catalog,files,transform` over one generated day, with the
 * real pipelines, isolated from everyone else on the shared stack: a random day in 1986–2014 (so
 * partition ids and staging keys are its own), the shop database in a private schema, the orders
 * API on a free port, and a worker on a private task queue. The CLI itself is timed, as run by a
 * person. Files: purchase files are loaded by landing time, so a historical day has none to take
 * and its 288 files partitions measure orchestration overhead only.
 *
 * `--days N` backfills N generated days (issue 11's goal: 30 days at scale 1 in ≤ 10 minutes).
 * `--partitions-per-run` is passed to `etl backfill` (default: its coalesced sizes, a day of each
 * ingestion pipeline per run and one transform run over the range; `all=1` is the old grain).
 *
 *   npx tsx bench/backfill-day.ts [--scale 1] [--days 1] [--concurrency 4] [--partitions-per-run all=1]
 */
import { execFile } from 'node:child_process';
import { randomInt, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { loadConfig } from '../config';
import { FILES } from '../contract/layout';
import { makeTemporalClient } from '../lib/temporal';
import { generateDataset } from '../shop/generator';
import { startShop } from '../shop/simulator/start-shop';
import { installConciseLogging } from '../workers/logging';
import { createWorker } from '../workers/worker';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};

async function main(): Promise<void> {
  installConciseLogging('ERROR');
  const scale = Number(arg('scale', '1'));
  const concurrency = arg('concurrency', '4');
  const days = Number(arg('days', '1'));
  const perRun = arg('partitions-per-run', '');
  const base = loadConfig();
  const start = new Date(Date.UTC(1986, 0, 1) + randomInt(0, 28 * 365) * 86_400_000).toISOString().slice(0, 10);
  const dir = mkdtempSync(join(tmpdir(), 'bench-backfill-'));
  const schema = `bench_orch_${randomUUID().slice(0, 8)}`;
  const taskQueue = `bench-orch-${randomUUID().slice(0, 8)}`;
  const t0 = performance.now();
  const { manifest } = await generateDataset({ seed: 3, start, days, scale, dirt: 'default', out: dir });
  // The generator numbers orders the same way in every run (O100001, …): sent again under a later
  // run's dates, they moved an earlier run's orders off theirs, and orders_volume failed on the
  // hole. A run's orders carry its own tag, so runs on one database stay apart.
  const orders = join(dir, FILES.orders);
  writeFileSync(orders, readFileSync(orders, 'utf8').replace(/"order_id":"O/g, `"order_id":"${schema.slice("bench_orch_".length)}-O`));
  console.log(`generated ${start} at scale ${scale}: ${manifest.totals.rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const owner = new Pool({ connectionString: base.SHOP_OWNER_DATABASE_URL, options: `-c search_path=${schema}`, max: 2 });
  await owner.query(`create schema ${schema}`);
  await owner.query(readFileSync(join(__dirname, '..', 'sql', 'shop', '001_shop.sql'), 'utf8').replace(/^grant .*$/gm, ''));
  await owner.query(`grant usage on schema ${schema} to etl_shop_reader; grant select on all tables in schema ${schema} to etl_shop_reader`);
  const shop = await startShop({ config: base, dataDir: dir, api: { port: 0 }, database: { pool: owner }, kafka: false, drops: false });
  const env = {
    ...process.env,
    ORDERS_API_URL: shop.apiUrl ?? '',
    SHOP_DATABASE_URL: `${base.SHOP_DATABASE_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    TEMPORAL_TASK_QUEUE: taskQueue,
  };
  const config = loadConfig(env);
  const started = await createWorker(config, { taskQueue });
  const running = started.run();
  try {
    const from = manifest.range.start;
    const to = new Date(Date.parse(from) + days * 86_400_000).toISOString();
    const args = ['backfill', 'orders,catalog,files,transform', '--from', from, '--to', to, '--concurrency', concurrency, '--json', ...(perRun ? ['--partitions-per-run', perRun] : [])];
    console.log(`etl ${args.join(' ')}   (TEMPORAL_TASK_QUEUE=${taskQueue})`);
    const began = performance.now();
    let last = '';
    const code = await new Promise<number>((resolve) => {
      const child = execFile(process.execPath, [join(__dirname, '..', 'bin', 'etl.js'), ...args], { env, maxBuffer: 1 << 28 }, (err) => resolve(err ? Number((err as { code?: number }).code ?? 1) : 0));
      child.stdout?.on('data', (chunk: Buffer) => {
        const lines = chunk.toString('utf8').trim().split('\n');
        last = lines.at(-1) ?? last;
      });
      child.stderr?.pipe(process.stderr);
    });
    const seconds = (performance.now() - began) / 1000;
    // The Temporal server's load: history events of every workflow the backfill ran (itself, its
    // continue-as-new runs, the children and their alert children), from visibility.
    const client = await makeTemporalClient(config);
    await new Promise((r) => setTimeout(r, 2000));
    let workflows = 0;
    let events = 0;
    let largest = 0;
    for await (const w of client.workflow.list({ query: `TaskQueue = "${taskQueue}"` })) {
      workflows++;
      events += w.historyLength;
      largest = Math.max(largest, w.historyLength);
    }
    await client.connection.close();
    const staging = new Pool({ connectionString: config.STAGING_DATABASE_URL, max: 1 });
    const { rows } = await staging.query<{ pipeline: string; loads: number; received: number; loaded: number }>(
      `select pipeline, count(*)::int as loads, sum(received)::int as received, sum(loaded)::int as loaded from etl.loads
       where partition_start >= $1 and partition_start < $2 and pipeline in ('orders', 'catalog', 'files', 'transform') group by pipeline order by pipeline`,
      [from, to],
    );
    await staging.end();
    const outcome = (() => { try { return JSON.parse(last) as { total?: number; partitions?: { total: number } }; } catch { return {}; } })();
    const partitions = outcome.partitions?.total ?? days * 504;
    console.log(`exit ${code}; wall time ${seconds.toFixed(1)} s for ${partitions} partitions in ${outcome.total ?? '?'} runs at concurrency ${concurrency}`);
    console.log(`Temporal: ${workflows} workflow runs, ${events} history events (${(events / partitions).toFixed(2)} per partition), largest history ${largest} events`);
    console.table(rows);
  } finally {
    started.shutdown();
    await running.catch(() => undefined);
    await Promise.allSettled([started.close(), shop.stop()]);
    await owner.query(`drop schema if exists ${schema} cascade`).catch(() => undefined);
    await owner.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
