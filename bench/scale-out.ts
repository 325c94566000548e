/**
 * The pipeline on several workers (issue 16): one generated dataset (a 6-partition events topic)
 * through the real workflows three times, from empty databases and an empty lake each time, on
 * worker processes (`etl worker`, each serving the default, stream and heavy queues):
 * - one: one worker;
 * - two: two workers on the same task queues;
 * - two-kill: two workers, and one is killed -9 once a third of the one-worker run's loads have
 *   committed and it holds running activities, and is not started again: the other must take over
 *   everything it held.
 * Each run: the events stream split in two shards (partitions p mod 2) of one consumer group;
 * backfills of orders over the dataset's range in runs of 6 hours (`--concurrency` at once), and of
 * the catalog from two years before it (when the generator's users signed up) in one run, its four
 * sources in parallel; the purchase-file drops; then, once every event is staged, a transform
 * backfill over the range (its date loads run on the heavy queue).
 * Reported: wall time per phase and rows per second with 1 and 2 workers; where the work ran (the
 * worker identity of every activity and workflow task in the runs' histories, per queue); what
 * the killed worker held and who finished it; and the checksums of every staging table, loaded file,
 * Kafka offset, quarantine row, analytics table and view and curated Parquet object, which must be
 * equal in all three runs.
 *
 *   npx tsx bench/scale-out.ts [--days 3] [--scale 2] [--concurrency 8] [--seed 5]
 *
 * It runs beside the user's data (its own databases, bucket, task queue, topic and shop schema),
 * on the stack of `etl services up`. Exits 1 when the runs differ or a run leaves work behind.
 */
import { randomInt } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../config';
import { deletePrefix } from '../lib/s3';
import { servicePaths } from '../services/paths';
import { generateDataset } from '../shop/generator';
import { startWorker, stopWorker } from '../test/support/chaos';
import { isolatedEnv } from '../test/support/isolated-env';
import { distinctValidEvents, serveDataset, tagIds } from '../test/support/pipelines-run';
import { analyticsChecksums, curatedChecksums, stagingChecksums, truncateAll } from '../test/support/rebuild-checks';
import { backfillWorkflow, eventsStreamWorkflow, filesPipelineWorkflow, stopEventsSignal } from '../workflows';
import { partitionAt } from '../workflows/partitions';

const RUNS = [
  { name: 'one', workers: 1, kill: false },
  { name: 'two', workers: 2, kill: false },
  { name: 'two-kill', workers: 2, kill: true },
] as const;
type RunName = (typeof RUNS)[number]['name'];
/** Partitions per child run: 6 hours of orders; the catalog and the transform each one run over their range. */
const RUN_SIZES = { orders: 36, catalog: 0, files: 288, transform: 0 } as const;

interface Spread { activities: Record<string, number[]>; workflowTasks: number[]; retried: Array<{ activity: string; attempt: number; finishedBy: number; startedAt: number }> }
/** Where the machine's CPU went in a phase: busy share of all cores, and CPU seconds by process group. */
interface CpuUse { busy: number; seconds: Record<string, number> }
interface RunReport {
  name: RunName;
  seconds: { ingestion: number; transform: number; total: number };
  cpu: { ingestion: CpuUse; transform: CpuUse };
  rows: number;
  loads: number;
  spread: Spread;
  killed?: { at: number; atSecond: number; held: string[]; nextLoadAfterSeconds: number | null };
  checksums: Record<string, string>;
  problems: string[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    days: { type: 'string', default: '3' },
    scale: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '8' },
    seed: { type: 'string', default: '5' },
  } });
  const days = Number(values.days);
  const concurrency = Number(values.concurrency);
  // The run's own topic gets 6 partitions (startShop creates it with KAFKA_EVENTS_PARTITIONS).
  process.env.KAFKA_EVENTS_PARTITIONS = '6';
  const base = loadConfig();
  const isolated = await isolatedEnv(base, 'scale-out', 'so');
  const { env, tag, bucket } = isolated;
  const dir = mkdtempSync(join(tmpdir(), 'scale-out-'));
  const workerLog = join(servicePaths(base, 'postgres').dir, '..', `${tag}-workers.log`);
  const workers: ChildProcess[] = [];
  let served: Awaited<ReturnType<typeof serveDataset>> | undefined;
  try {
    // A historical start of its own, so the backfill's partition ids are no one else's.
    const start = new Date(Date.UTC(1990, 0, 1) + randomInt(0, 24 * 365) * 86_400_000).toISOString().slice(0, 10);
    const t0 = Date.now();
    const { manifest } = await generateDataset({ seed: Number(values.seed), start, days, scale: Number(values.scale), dirt: 'default', out: dir });
    tagIds(dir, tag);
    const generated = Date.now();
    served = await serveDataset(env, dir, tag);
    const s = served;
    const events = await distinctValidEvents(dir);
    const setup = { generateSeconds: (generated - t0) / 1000, serveSeconds: (Date.now() - generated) / 1000 };
    const from = manifest.range.start;
    const to = new Date(Date.parse(manifest.range.end) + 86_400_000).toISOString(); // orders still changing after the last day
    const catalogFrom = new Date(Date.parse(from) - 731 * 86_400_000).toISOString();
    console.log(JSON.stringify({ dataset: { start, days, scale: Number(values.scale), rows: manifest.totals.rows, events }, setup, topic: s.topic, partitions: 6, workerLog }));
    const workerEnv: NodeJS.ProcessEnv = {
      ...process.env, ...isolated.dbEnv, S3_BUCKET: bucket, ORDERS_API_URL: s.shop.apiUrl ?? '',
      SHOP_DATABASE_URL: `${env.config.SHOP_DATABASE_URL}?options=${encodeURIComponent(`-c search_path=pipelines_${tag}`)}`,
    };
    const client = env.client;
    const staged = async () => Number((await env.deps.staging.query<{ n: string }>('select count(*) n from staging.events where event_id like $1', [`${tag}%`])).rows[0]?.n);
    const committed = async () => Number((await env.deps.staging.query<{ n: string }>(`select count(*) n from etl.loads where status = 'succeeded'`)).rows[0]?.n);

    const reports: RunReport[] = [];
    for (const r of RUNS) {
      await truncateAll(env.deps.staging, env.deps.analytics);
      for (const prefix of ['raw/', 'curated/', 'quarantine/']) await deletePrefix(env.deps.s3, bucket, prefix);
      const queue = `${tag}-${r.name}`;
      const problems: string[] = [];
      const deaths: string[] = [];
      for (let i = 0; i < r.workers; i++) workers.push(await startWorker(queue, workerLog, (why) => deaths.push(why), workerEnv));
      const identities = workers.map((w) => `${w.pid}@${hostname()}`);
      const opts = (id: string) => ({ taskQueue: queue, workflowId: `${id}/${tag}-${r.name}` });
      const began = Date.now();
      const group = (pid: number, comm: string) => (workers.some((w) => w.pid === pid) ? 'workers' : pid === process.pid ? 'bench (orders API)' : (GROUPS[comm] ?? 'other'));
      const cpu0 = cpuSample(group);
      const shards = await Promise.all([0, 1].map((index) => client.workflow.start(eventsStreamWorkflow, {
        ...opts(`events/shard-${index}`), args: [{ topic: s.topic, consumerGroup: `scale-${tag}`, shard: { index, count: 2 }, maxMessages: 5000, maxWaitMs: 500, idleSleepMs: 200 }],
      })));
      // Orders over the range in 6-hour runs; the catalog from two years before it (the generator's
      // users signed up up to 730 days before the first day) in one run, as `etl backfill --initial` does.
      const backfills = await Promise.all([
        client.workflow.start(backfillWorkflow, { ...opts('backfill/orders'), args: [{ pipelines: ['orders'], from, to, concurrency, runSizes: { ...RUN_SIZES } }] }),
        client.workflow.start(backfillWorkflow, { ...opts('backfill/catalog'), args: [{ pipelines: ['catalog'], from: catalogFrom, to, concurrency, runSizes: { ...RUN_SIZES } }] }),
      ]);
      const files = await client.workflow.start(filesPipelineWorkflow, { ...opts('files'), args: [{ ...partitionAt('files', new Date(Date.now() + 300_000)), backfill: true, dropPrefix: s.dropPrefix }] });

      // The kill: once a third of the one-worker run's loads have committed.
      let killed: RunReport['killed'];
      const killing = r.kill ? (async () => {
        const at = Math.ceil((reports[0]?.loads ?? 30) / 3);
        while ((await committed()) < at) await new Promise((res) => setTimeout(res, 100));
        const victim = workers[1] as ChildProcess;
        // Then as soon as worker 2 holds running activities (within a minute), so the kill takes work from it.
        let held = await heldBy(client, queue, identities[1] as string);
        for (const until = Date.now() + 60_000; held.length === 0 && Date.now() < until;) {
          await new Promise((res) => setTimeout(res, 100));
          held = await heldBy(client, queue, identities[1] as string);
        }
        if (held.length === 0) problems.push(`${r.name}: worker 2 held no running activity within a minute; it was killed anyway`);
        const before = await committed();
        victim.kill('SIGKILL');
        const t = Date.now();
        let next: number | null = null;
        while (next === null && Date.now() - t < 300_000) {
          if ((await committed()) > before) next = (Date.now() - t) / 1000;
          else await new Promise((res) => setTimeout(res, 100));
        }
        killed = { at: t, atSecond: (t - began) / 1000, held, nextLoadAfterSeconds: next };
        console.log(JSON.stringify({ run: r.name, killed }));
      })() : Promise.resolve();

      // A backfill with a failed partition fails (BackfillPartitionsFailed), which ends the bench here.
      for (const b of backfills) await b.result();
      await files.result();
      while ((await staged()) < events) {
        if (Date.now() - began > 30 * 60_000) throw new Error(`${r.name}: ${await staged()} of ${events} events staged after 30 minutes`);
        await new Promise((res) => setTimeout(res, 200));
      }
      await killing;
      await Promise.all(shards.map((h) => h.signal(stopEventsSignal)));
      await Promise.all(shards.map((h) => h.result()));
      const ingested = Date.now();
      const cpu1 = cpuSample(group);
      await client.workflow.execute(backfillWorkflow, { ...opts('backfill/transform'), args: [{ pipelines: ['transform'], from, to, concurrency, runSizes: { ...RUN_SIZES } }] });
      const ended = Date.now();
      const cpu2 = cpuSample(group);

      await new Promise((res) => setTimeout(res, 2000));
      for await (const w of client.workflow.list({ query: `TaskQueue = "${queue}" AND ExecutionStatus = "Running"` })) problems.push(`${r.name}: ${w.workflowId} still running`);
      const bad = (await env.deps.staging.query<{ load_id: string; status: string }>(`select load_id, status from etl.loads where status <> 'succeeded' or received <> loaded + quarantined + duplicates`)).rows;
      for (const b of bad) problems.push(`${r.name}: load ${b.load_id} is ${b.status} or does not reconcile`);
      problems.push(...deaths.map((d) => `${r.name}: ${d}`));
      const [totals] = (await env.deps.staging.query<{ loads: string; rows: string }>(`select count(*) loads, coalesce(sum(received), 0) rows from etl.loads`)).rows;
      for (const w of workers.splice(0)) await stopWorker(w);
      const spread = await spreadOf(client, queue, identities);
      const checksums = { ...(await stagingChecksums(env.deps.staging)), ...(await analyticsChecksums(env.deps.analytics)), ...(await curatedChecksums(env.deps.s3, bucket)) };
      const report: RunReport = {
        name: r.name, seconds: { ingestion: (ingested - began) / 1000, transform: (ended - ingested) / 1000, total: (ended - began) / 1000 },
        cpu: { ingestion: cpuUse(cpu0, cpu1), transform: cpuUse(cpu1, cpu2) },
        rows: Number(totals?.rows), loads: Number(totals?.loads), spread, ...(killed ? { killed } : {}), checksums, problems,
      };
      reports.push(report);
      console.log(JSON.stringify({ run: r.name, seconds: report.seconds, cpu: report.cpu, rows: report.rows, loads: report.loads, spread, problems }));
    }
    print(reports);
    if (reports.some((r) => r.problems.length > 0) || differences(reports).length > 0) process.exitCode = 1;
  } finally {
    for (const w of workers) await stopWorker(w).catch(() => undefined);
    await served?.stop().catch((err: unknown) => console.error(`scale-out cleanup: ${String(err)}`));
    await isolated.dispose((what, err) => console.error(`scale-out cleanup: ${what} failed: ${String(err)}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

const GROUPS: Record<string, string> = { postgres: 'postgres', java: 'kafka', temporal: 'temporal', weed: 's3', node: 'other node' };
interface CpuSample { total: number; idle: number; byPid: Map<number, { group: string; ticks: number }> }

/** The machine's CPU ticks (/proc/stat) and each process's (/proc/<pid>/stat utime + stime), grouped by `group`. */
function cpuSample(group: (pid: number, comm: string) => string): CpuSample {
  const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const byPid = new Map<number, { group: string; ticks: number }>();
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byPid.set(Number(d), { group: group(Number(d), comm), ticks: Number(rest[11]) + Number(rest[12]) });
    } catch {
      // the process ended meanwhile
    }
  }
  return { total: cpu.reduce((a, b) => a + b, 0), idle: (cpu[3] ?? 0) + (cpu[4] ?? 0), byPid };
}

/** Between two samples: the busy share of all cores, and CPU seconds per group (processes alive at the end; 100 ticks a second). */
function cpuUse(a: CpuSample, b: CpuSample): CpuUse {
  const seconds: Record<string, number> = {};
  for (const [pid, p] of b.byPid) {
    const used = (p.ticks - (a.byPid.get(pid)?.ticks ?? 0)) / 100;
    if (used > 0) seconds[p.group] = Math.round(((seconds[p.group] ?? 0) + used) * 10) / 10;
  }
  const total = b.total - a.total;
  return { busy: total > 0 ? Math.round((1 - (b.idle - a.idle) / total) * 100) / 100 : 0, seconds };
}

/** The activities a worker is running now, from every running workflow of the queue (what a kill takes from it). */
async function heldBy(client: Client, queue: string, identity: string): Promise<string[]> {
  const held: string[] = [];
  for await (const w of client.workflow.list({ query: `TaskQueue = "${queue}" AND ExecutionStatus = "Running"` })) {
    const d = await client.workflow.getHandle(w.workflowId, w.runId).describe().catch(() => null);
    for (const a of d?.raw.pendingActivities ?? []) {
      // Started and not yet finished there; an attempt waiting for its retry (SCHEDULED, 1) is held by no one.
      if (a.lastWorkerIdentity === identity && a.state !== 1) held.push(`${a.activityType?.name ?? '?'} of ${w.workflowId}`);
    }
  }
  return held;
}

/**
 * Where the work ran, from the histories of every workflow run on the queue: per activity queue
 * role, the activity tasks each worker completed (the identity of their last attempt's start), the
 * workflow tasks each worker ran, and the activities that needed more than one attempt.
 */
async function spreadOf(client: Client, queue: string, identities: readonly string[]): Promise<Spread> {
  const spread: Spread = { activities: {}, workflowTasks: identities.map(() => 0), retried: [] };
  const who = (identity: string | null | undefined) => identities.indexOf(identity ?? '');
  for await (const w of client.workflow.list({ query: `TaskQueue = "${queue}"` })) {
    const history = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    const scheduled = new Map<string, { type: string; queue: string }>();
    for (const e of history.events ?? []) {
      const s = e.activityTaskScheduledEventAttributes;
      if (s) scheduled.set(String(e.eventId), { type: s.activityType?.name ?? '?', queue: s.taskQueue?.name ?? '?' });
      const st = e.activityTaskStartedEventAttributes;
      if (st) {
        const a = scheduled.get(String(st.scheduledEventId));
        const role = a?.queue === queue ? 'default' : (a?.queue ?? '?').slice(queue.length + 1);
        const i = who(st.identity);
        const counts = (spread.activities[role] ??= identities.map(() => 0));
        if (i >= 0) counts[i] = (counts[i] ?? 0) + 1;
        const t = e.eventTime;
        if ((st.attempt ?? 1) > 1) spread.retried.push({ activity: a?.type ?? '?', attempt: st.attempt ?? 1, finishedBy: i, startedAt: t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0 });
      }
      const wt = e.workflowTaskStartedEventAttributes;
      if (wt && who(wt.identity) >= 0) spread.workflowTasks[who(wt.identity)] = (spread.workflowTasks[who(wt.identity)] ?? 0) + 1;
    }
  }
  return spread;
}

function differences(reports: readonly RunReport[]): string[] {
  const [first, ...rest] = reports;
  if (!first) return [];
  return rest.flatMap((r) => Object.keys({ ...first.checksums, ...r.checksums }).filter((k) => first.checksums[k] !== r.checksums[k])
    .map((k) => `${r.name} ${k}: ${r.checksums[k] ?? 'absent'} (one worker: ${first.checksums[k] ?? 'absent'})`));
}

function print(reports: readonly RunReport[]): void {
  const one = reports[0];
  console.log('\n| run | workers | ingestion (s) | transform (s) | total (s) | rows staged | rows/s (ingestion) | vs one worker |\n| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of reports) {
    const rate = r.rows / r.seconds.ingestion;
    console.log(`| ${r.name} | ${r.name === 'one' ? 1 : 2} | ${r.seconds.ingestion.toFixed(1)} | ${r.seconds.transform.toFixed(1)} | ${r.seconds.total.toFixed(1)} | ${r.rows} | ${rate.toFixed(0)} | ${one ? (one.seconds.total / r.seconds.total).toFixed(2) : '-'}x |`);
  }
  const groups = [...new Set(reports.flatMap((r) => [...Object.keys(r.cpu.ingestion.seconds), ...Object.keys(r.cpu.transform.seconds)]))].sort();
  console.log(`\n| run | phase | cores busy | ${groups.join(' | ')} |\n| --- | --- | --- | ${groups.map(() => '---').join(' | ')} |`);
  for (const r of reports) {
    for (const phase of ['ingestion', 'transform'] as const) {
      const c = r.cpu[phase];
      console.log(`| ${r.name} | ${phase} | ${(c.busy * 100).toFixed(0)}% | ${groups.map((g) => `${(c.seconds[g] ?? 0).toFixed(1)} s`).join(' | ')} |`);
    }
  }
  console.log('\n| run | queue | activity tasks per worker (w1 / w2) |\n| --- | --- | --- |');
  for (const r of reports) {
    for (const [role, n] of Object.entries(r.spread.activities)) console.log(`| ${r.name} | ${role} | ${n.join(' / ')} |`);
    console.log(`| ${r.name} | workflow tasks | ${r.spread.workflowTasks.join(' / ')} |`);
  }
  for (const r of reports.filter((x) => x.killed)) {
    console.log(`\n${r.name}: worker 2 killed -9 at ${r.killed?.atSecond.toFixed(1)} s holding ${r.killed?.held.length} activities (${r.killed?.held.join('; ') || 'none'}); the next load committed ${r.killed?.nextLoadAfterSeconds?.toFixed(1) ?? 'never'} s later`);
    const after = (ms: number) => ((ms - (r.killed?.at ?? 0)) / 1000).toFixed(1);
    console.log(`retried activities: ${r.spread.retried.map((x) => `${x.activity} (attempt ${x.attempt} started ${after(x.startedAt)} s after the kill, by w${x.finishedBy + 1})`).join(', ') || 'none'}`);
  }
  const differ = differences(reports);
  const n = Object.keys(one?.checksums ?? {}).length;
  console.log(differ.length === 0 ? `\nidentical: all ${n} checksums equal in the ${reports.length} runs` : `\nDIFFERENT:\n${differ.join('\n')}`);
  const problems = reports.flatMap((r) => r.problems);
  if (problems.length > 0) console.log(`problems:\n${problems.join('\n')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
