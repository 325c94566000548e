/**
 * The chaos run of the events stream (issue 13): a real worker (`etl worker`, child process) runs
 * eventsStreamWorkflow on a private topic and task queue while a producer sends events at a steady
 * rate, and faults land one after another at seeded moments, each after the previous one has
 * recovered, so every fault hits a moving stream. The producer stops once the last fault has
 * recovered; the run ends when the stored offsets reach the topic's end. The result must be exactly
 * once: every distinct event_id staged once, the loads tiling every partition's offsets without gap
 * or overlap, reconciling, and adding up to what the topic holds. Faults:
 * - worker: the worker is killed -9 and a new one started;
 * - postgres, kafka, s3, temporal: the service is killed -9 (after checking the pid is this
 *   project's) and started again at once by `etl services up <name>`, as an operator would;
 * - s3-stall: the S3 server is stopped (SIGSTOP) for stallSeconds, then continued (a network stall).
 * 1 % of the events are sent twice, a few thousand events later (a producer's duplicate delivery).
 * Recovery is the time from the fault until the stored offsets move past where they were when it
 * landed (the next range that commits). Used by bench/chaos.ts (the long run) and by
 * test/integration/chaos.test.ts (the short run inside `npm test`). It kills the project's own
 * local services: nothing else may use them meanwhile (vitest runs test files one at a time).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { CATCHUP_WINDOW, OVERLAP_POLICY } from '../../schedules/specs';
import type { Config } from '../../config';
import { databaseUrl, makeKafka, makePool, makeS3 } from '../../lib/clients';
import { migrate } from '../../lib/migrate';
import { deletePrefix } from '../../lib/s3';
import { servicePaths } from '../../services/paths';
import { isOurs } from '../../services/process';
import type { ServiceName } from '../../services/types';
import { Rng } from '../../shop/generator/prng';
import { ensureTopic, eventsProducer } from '../../shop/simulator/events';
import { deleteTopics } from '../../shop/simulator/testing';
import { startWorkerProcess } from './wait';

const ROOT = join(__dirname, '..', '..');
const PARTITIONS = 3;

export const FAULT_KINDS = ['worker', 'postgres', 'kafka', 's3', 's3-stall', 'temporal'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Seconds a killed service stays down before it is started again. */
export function heldDownSeconds(kind: string, o: Pick<FaultRunOptions<string>, 'temporalDownSeconds' | 'postgresDownSeconds'>): number {
  if (kind === 'temporal') return o.temporalDownSeconds ?? 20;
  if (kind === 'postgres') return o.postgresDownSeconds ?? 0;
  return 0;
}

/** What every chaos run takes: its faults in the order drawn, the seed, and the faults' timings. */
export interface FaultRunOptions<K extends string> {
  faults: K[];
  seed: number;
  /** Seconds between one fault's recovery and the next fault: drawn from this range (default [2, 8]). */
  gapSeconds?: [number, number];
  /** How long the S3 server stays stopped in an s3-stall (default 30). */
  stallSeconds?: number;
  /** How long the Temporal server stays down in a temporal fault before `etl services up` (default 20). */
  temporalDownSeconds?: number;
  /**
   * How long PostgreSQL stays down in a postgres fault before `etl services up` (default 0: started
   * again at once). A restart that takes longer (crash recovery of a busy server, a failover) must
   * not spend a session's retries: 20 s outlasts the old budget of 5 attempts (workflows/supervise.ts).
   */
  postgresDownSeconds?: number;
  /** Progress lines (JSON); default console.log. */
  log?: (line: string) => void;
}

export interface ChaosOptions extends FaultRunOptions<FaultKind> {
  /** Events per second sent while the faults land (default 2000). */
  rate?: number;
  /**
   * A schedule firing every this many seconds through the run (wiringCheckWorkflow, the project's
   * overlap policy BUFFER_ALL and a day's catch-up window): the windows missed while Temporal was
   * down must all run after it, in order. Default 5; 0 for none.
   */
  scheduleEverySeconds?: number;
  /** Keep the worker's output when the run passes (default true; a failed run always keeps it). */
  keepWorkerLog?: boolean;
}

export interface FaultRecord {
  kind: FaultKind;
  /** Seconds since the stream started. */
  at: number;
  /** Seconds until the service answered again (restart, or the stall's end); 0 for a worker. */
  downSeconds: number;
  /** Seconds from the fault until the stored offsets moved past where they were (watched throughout, so it can be less than downSeconds). */
  recoverySeconds: number;
  /** Offsets the stored position stepped back across the fault (a database crash undoing commits); a lower bound. */
  steppedBack: number;
}

export interface ChaosReport {
  ok: boolean;
  seconds: number;
  faults: FaultRecord[];
  /** Events produced (with the 1 % sent twice), distinct event ids, and the topic's messages (a producer retry may add some). */
  events: { sent: number; distinct: number; inTopic: number };
  staged: number;
  stagedDistinct: number;
  loads: { count: number; received: number; loaded: number; duplicates: number; quarantined: number };
  /** The schedule's actions: windows fired, none missed (gaps lists any), started in window order, all closed. */
  schedule?: { every: number; windows: number; missed: string[]; outOfOrder: number; failed: number; stillRunning: number; caughtUp: number };
  /** Alerts raised about this run's stream, by kind and text (a person would have been told these). */
  alerts: Array<{ kind: string; message: string }>;
  problems: string[];
  workerLog: string;
}

/** The order of the faults and the pause before each, from the seed. */
export function faultPlan<K extends string>(faults: readonly K[], seed: number, gap: [number, number] = [2, 8]): Array<{ kind: K; afterSeconds: number }> {
  const rng = new Rng(seed, 'chaos');
  const kinds = [...faults];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [kinds[i], kinds[j]] = [kinds[j] as K, kinds[i] as K];
  }
  return kinds.map((kind) => ({ kind, afterSeconds: gap[0] + rng.next() * (gap[1] - gap[0]) }));
}

/** `etl worker` in a child process, its output appended to `log`; a death the run did not cause is reported. */
export async function startWorker(taskQueue: string, log: string, onDeath: (why: string) => void, env?: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = await startWorkerProcess(taskQueue, { log, env });
  child.on('exit', (code, signal) => {
    if (signal !== 'SIGTERM' && signal !== 'SIGKILL') onDeath(`the worker exited (${String(code ?? signal)}); its output: ${log}`);
  });
  return child;
}

/** SIGTERM, then SIGKILL if it has not exited within 30 s; resolves once it has. */
export function stopWorker(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export function servicePid(config: Config, name: ServiceName, executable: string): number {
  const paths = servicePaths(config, name);
  const pid = Number(readFileSync(paths.pid, 'utf8').trim());
  if (!isOurs(pid, { executable, marker: paths.dir })) throw new Error(`pid ${pid} of ${paths.pid} is not this project's ${name}; not touching it`);
  return pid;
}

export const EXECUTABLE: Record<ServiceName, string> = { postgres: 'postgres', kafka: 'java', s3: 'weed', temporal: 'temporal' };

/** `etl services up <name>`, without blocking the run: the producer and the recovery watch go on meanwhile. */
export async function servicesUp(name: ServiceName): Promise<void> {
  await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'etl.js'), 'services', 'up', name], { cwd: ROOT, env: process.env });
}

export async function runChaos(config: Config, o: ChaosOptions): Promise<ChaosReport> {
  const say = o.log ?? ((line: string) => console.log(line));
  // A fresh stack (`etl services up` only) has no tables yet.
  await migrate('staging', databaseUrl(config, 'staging'));
  const kafka = makeKafka(config, 'chaos');
  const staging = makePool(config, 'staging', 2);
  // The run's own connections die with the services too: every query is retried until it answers.
  let closing = false;
  const q = async <T extends object>(sql: string, params: unknown[] = []): Promise<T[]> => {
    for (let i = 0; ; i++) {
      try {
        return (await staging.query<T>(sql, params)).rows;
      } catch (err) {
        if (i > 300 || closing) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const tag = `chaos-${randomUUID().slice(0, 8)}`;
  const topic = `bench.chaos.${tag}`;
  const group = tag;
  const workflowId = `events/stream/${tag}`;
  const workerLog = join(servicePaths(config, 'postgres').dir, '..', `${tag}-worker.log`);
  let worker: ChildProcess | null = null;
  let workerDied: string | null = null;
  const began = Date.now();
  // What the cleanup must undo whatever happened: the producer, a recovery watch, a service left
  // killed or stopped (the next test file needs them all), the worker.
  let passed = false;
  let stopProducing = false;
  let production: Promise<void> = Promise.resolve();
  let producerConnected: { disconnect(): Promise<void> } | null = null;
  let watchEnded = false;
  const down = new Set<ServiceName>();
  let stalledPid: number | null = null;
  const contOnExit = () => {
    try {
      if (stalledPid) process.kill(stalledPid, 'SIGCONT');
    } catch {
      // Gone already: nothing to continue.
    }
    stalledPid = null;
  };
  process.once('exit', contOnExit);
  // Ctrl-C or a kill during a stall: 'exit' is not emitted for a signal, so continue S3 here, then
  // end as the signal would have (the rest of the cleanup does not run; `etl services up` restores the rest).
  const onSignal = (signal: NodeJS.Signals) => {
    contOnExit();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await ensureTopic(kafka, topic, PARTITIONS);
    const event = (n: number) => {
      const name = n % 10 === 9 ? 'order' : n % 10 > 6 ? 'add_to_cart' : 'view';
      return JSON.stringify({ event_id: `${tag}-${n}`, event_name: name, user_id: `U${(n * 7919) % 5000}`, session_id: `S${n % 20000}`, product_id: `P${n % 300}`,
        order_id: name === 'order' ? `${tag}-O${n}` : null, price: name === 'view' ? null : '9.99', ts: new Date(Date.UTC(2031, 0, 1) + n * 100).toISOString() });
    };
    // The producer: `rate` events a second in batches of a tenth of a second, until told to stop.
    // A send that fails (Kafka restarting) is sent again: the topic may then hold a copy more, which
    // the loads count as duplicates; the checks compare with the topic, not with what was sent.
    const producer = eventsProducer(kafka);
    await producer.connect();
    producerConnected = producer;
    const rate = o.rate ?? 2000;
    let produced = 0;
    let sent = 0;
    production = (async () => {
      const t0 = Date.now();
      while (!stopProducing) {
        const messages = [];
        for (const n of Array.from({ length: Math.ceil(rate / 10) }, (_, i) => produced + i)) {
          messages.push({ key: `U${(n * 7919) % 5000}`, value: event(n) });
          // 1 % sent again, a few thousand events later (a producer retry that was not deduplicated).
          if (n % 100 === 42 && n > 3000) messages.push({ key: `U${((n - 3000) * 7919) % 5000}`, value: event(n - 3000) });
        }
        for (let tries = 0; ; tries++) {
          try {
            await producer.send({ topic, acks: -1, messages });
            break;
          } catch (err) {
            if (stopProducing) return; // the run is over: an unsent batch is not counted, and the checks read the topic
            if (tries > 60) throw err;
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
        produced += Math.ceil(rate / 10);
        sent += messages.length;
        const due = t0 + (produced / rate) * 1000;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
    })();

    const stored = async () => BigInt((await q<{ n: string }>('select coalesce(sum(next_offset), 0) n from etl.kafka_offsets where consumer_group = $1 and topic = $2', [group, topic]))[0]?.n ?? '0');
    const onDeath = (why: string) => void (workerDied = why);
    worker = await startWorker(tag, workerLog, onDeath);
    const streamStart = Date.now();
    await client.workflow.start('eventsStreamWorkflow', { taskQueue: tag, workflowId, args: [{ topic, consumerGroup: group }] });
    const waitFor = async (what: string, target: bigint, minutes: number) => {
      const deadline = Date.now() + minutes * 60_000;
      for (;;) {
        const now = await stored();
        if (now >= target) return now;
        if (workerDied) throw new Error(workerDied);
        if (Date.now() > deadline) throw new Error(`${what}: the stored offsets did not reach ${target} in ${minutes} minutes (${now})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    const every = o.scheduleEverySeconds ?? 5;
    const scheduleId = `${tag}-every-${every}s`;
    if (every > 0) {
      await client.schedule.create({
        scheduleId,
        spec: { intervals: [{ every: `${every} seconds` }] },
        action: { type: 'startWorkflow', workflowType: 'wiringCheckWorkflow', taskQueue: tag, workflowId: `${tag}-wiring`, args: [{ runId: `${tag}-wiring` }] },
        policies: { overlap: OVERLAP_POLICY, catchupWindow: CATCHUP_WINDOW },
      });
    }
    const outages: Array<[number, number]> = [];

    const records: FaultRecord[] = [];
    say(JSON.stringify({ rate, faults: o.faults.length, seed: o.seed }));
    for (const f of faultPlan(o.faults, o.seed, o.gapSeconds)) {
      await new Promise((r) => setTimeout(r, f.afterSeconds * 1000));
      const before = await stored();
      const t0 = Date.now();
      // Watched from the moment of the fault: the stream may go on while a service is down (Temporal).
      let movedAt: number | null = null;
      const watching = (async () => {
        while (movedAt === null) {
          if (workerDied || watchEnded || Date.now() - t0 > 10 * 60_000) return;
          if ((await stored()) > before) movedAt = Date.now();
          else await new Promise((r) => setTimeout(r, 100));
        }
      })().catch(() => undefined); // the cleanup ended the pool under it
      if (f.kind === 'worker') {
        worker?.kill('SIGKILL');
        worker = await startWorker(tag, workerLog, onDeath);
      } else if (f.kind === 's3-stall') {
        const pid = servicePid(config, 's3', EXECUTABLE.s3);
        process.kill(pid, 'SIGSTOP');
        stalledPid = pid;
        try {
          await new Promise((r) => setTimeout(r, (o.stallSeconds ?? 30) * 1000));
        } finally {
          contOnExit();
        }
      } else {
        process.kill(servicePid(config, f.kind, EXECUTABLE[f.kind]), 'SIGKILL');
        down.add(f.kind);
        // Temporal stays down a while, so the schedule misses windows it must catch up on; PostgreSQL as long as asked.
        await new Promise((r) => setTimeout(r, heldDownSeconds(f.kind, o) * 1000));
        await servicesUp(f.kind);
        down.delete(f.kind);
        if (f.kind === 'temporal') outages.push([t0, Date.now()]);
      }
      const downSeconds = f.kind === 'worker' ? 0 : (Date.now() - t0) / 1000;
      const afterUp = await stored();
      await waitFor(`recovery from the ${f.kind} fault`, before + 1n, 10);
      await watching;
      const r: FaultRecord = { kind: f.kind, at: (t0 - streamStart) / 1000, downSeconds, recoverySeconds: ((movedAt ?? Date.now()) - t0) / 1000, steppedBack: Number(before > afterUp ? before - afterUp : 0n) };
      records.push(r);
      say(JSON.stringify({ fault: r.kind, at: r.at, downSeconds: r.downSeconds, recoverySeconds: r.recoverySeconds, steppedBack: r.steppedBack }));
    }
    stopProducing = true;
    await production;
    await producer.disconnect();
    producerConnected = null;
    const admin = kafka.admin();
    await admin.connect();
    const end = new Map((await admin.fetchTopicOffsets(topic)).map((x) => [x.partition, BigInt(x.high)]));
    await admin.disconnect();
    const endSum = [...end.values()].reduce((a, b) => a + b, 0n);
    const ids = produced;
    say(JSON.stringify({ produced: sent, distinct: ids, inTopic: Number(endSum) }));
    await waitFor('the end of the topic', endSum, 15);
    const handle = client.workflow.getHandle(workflowId);
    await handle.signal('stop');
    await handle.result();

    const schedule = every > 0 ? await scheduleOutcome(client, scheduleId, every, outages) : undefined;

    // What staging holds: each distinct event once; the loads tile the offsets and add up.
    const [staged] = await q<{ n: string; distinct: string }>('select count(*) n, count(distinct event_id) distinct from staging.events where event_id like $1', [`${tag}-%`]);
    const loads = await q<{ partition: number; first: string; last: string; received: number; loaded: number; quarantined: number; duplicates: number }>(
      `select (detail->>'partition')::int partition, detail->>'firstOffset' first, detail->>'lastOffset' last, received, loaded, quarantined, duplicates
       from etl.loads where load_id like $1 and status = 'succeeded' order by 1, (detail->>'firstOffset')::bigint`, [`events/${topic}/%`]);
    const next = new Map<number, bigint>();
    const problems: string[] = [];
    for (const l of loads) {
      if (BigInt(l.first) !== (next.get(l.partition) ?? 0n)) problems.push(`partition ${l.partition}: a load starts at ${l.first}, expected ${next.get(l.partition) ?? 0n}`);
      next.set(l.partition, BigInt(l.last) + 1n);
      if (l.received !== l.loaded + l.quarantined + l.duplicates) problems.push(`the load of partition ${l.partition} at ${l.first} does not reconcile`);
    }
    for (const [p, o2] of end) if (next.get(p) !== o2) problems.push(`partition ${p}: the loads end at ${next.get(p) ?? 0n}, the topic at ${o2}`);
    const sum = (k: 'received' | 'loaded' | 'duplicates' | 'quarantined') => loads.reduce((a, l) => a + l[k], 0);
    const alerts = await q<{ kind: string; message: string }>('select kind, left(message, 300) message from etl.alerts where alert_id like $1 order by raised_at', [`%${tag}%`]);
    const report: ChaosReport = {
      ok: false, seconds: (Date.now() - began) / 1000, faults: records, events: { sent, distinct: ids, inTopic: Number(endSum) },
      staged: Number(staged?.n), stagedDistinct: Number(staged?.distinct),
      loads: { count: loads.length, received: sum('received'), loaded: sum('loaded'), duplicates: sum('duplicates'), quarantined: sum('quarantined') },
      ...(schedule ? { schedule } : {}), alerts, problems, workerLog,
    };
    if (schedule && (schedule.missed.length || schedule.outOfOrder || schedule.stillRunning)) {
      problems.push(`the schedule missed ${schedule.missed.length} windows (${schedule.missed.slice(0, 5).join(', ')}), started ${schedule.outOfOrder} out of order, left ${schedule.stillRunning} running`);
    }
    if (report.staged !== ids || report.stagedDistinct !== ids) problems.push(`staged ${report.staged} rows (${report.stagedDistinct} distinct), expected ${ids}`);
    if (report.loads.received !== Number(endSum)) problems.push(`the loads received ${report.loads.received}, the topic holds ${endSum}`);
    if (Number(endSum) < sent) problems.push(`the topic holds ${endSum} messages, fewer than the ${sent} sent`);
    if (report.loads.loaded !== ids || report.loads.duplicates !== Number(endSum) - ids) problems.push(`the loads count ${report.loads.loaded} loaded and ${report.loads.duplicates} duplicates, expected ${ids} and ${Number(endSum) - ids}`);
    report.ok = problems.length === 0;
    passed = report.ok;
    return report;
  } finally {
    // Each step on its own: one failing (a service still down) does not skip the others.
    const step = (what: string, fn: () => Promise<unknown>) => fn().catch((err: unknown) => console.error(`chaos cleanup: ${what} failed: ${String(err)}`));
    watchEnded = true;
    contOnExit();
    process.removeListener('exit', contOnExit);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    for (const name of down) await step(`start ${name} again`, () => servicesUp(name));
    stopProducing = true;
    await step('stop the producer', () => production);
    if (producerConnected) await step('disconnect the producer', () => (producerConnected as { disconnect(): Promise<void> }).disconnect());
    await step('delete the schedule', () => client.schedule.getHandle(`${tag}-every-${o.scheduleEverySeconds ?? 5}s`).delete().catch(() => undefined));
    await step('terminate the workflow', () => client.workflow.getHandle(workflowId).terminate('chaos run cleanup').catch((err: unknown) => {
      if (!(err instanceof WorkflowNotFoundError)) throw err; // already stopped: the run got to the end
    }));
    // The schedule's runs still going (a failed run's, or one started while the worker stopped).
    await step('terminate the schedule\'s runs', async () => {
      const query = `TemporalScheduledById = '${tag}-every-${o.scheduleEverySeconds ?? 5}s' AND ExecutionStatus = 'Running'`;
      for await (const w of client.workflow.list({ query })) await client.workflow.getHandle(w.workflowId, w.runId).terminate('chaos run cleanup').catch(() => undefined);
    });
    await step('stop the worker', () => stopWorker(worker));
    for (const [table, where, arg] of [['staging.events', 'event_id like $1', `${tag}-%`], ['etl.quarantine', 'load_id like $1', `events/${topic}/%`], ['etl.realtime_dirty', 'load_id like $1', `events/${topic}/%`],
      ['etl.loads', 'load_id like $1', `events/${topic}/%`], ['etl.kafka_offsets', 'topic = $1', topic], ['etl.alerts', 'alert_id like $1', `%${tag}%`]] as const) {
      await step(`delete from ${table}`, () => staging.query(`delete from ${table} where ${where}`, [arg]));
    }
    const s3 = makeS3(config);
    // Raw event objects are filed under their messages' date: today's, and yesterday's for a run across midnight.
    for (const day of [0, 1]) await step('delete the raw objects', () => deletePrefix(s3, config.S3_BUCKET, `raw/events/dt=${new Date(Date.now() - day * 86_400_000).toISOString().slice(0, 10)}/${topic}-`));
    s3.destroy();
    await step('delete the topic', () => deleteTopics(kafka, [topic]));
    await connection.close();
    closing = true;
    await staging.end();
    // The worker has exited by now; its output is kept unless asked not to for a run that passed.
    if (passed && o.keepWorkerLog === false) await rm(workerLog, { force: true });
  }
}

/**
 * The schedule's record: stops it, waits for its buffered and running actions to end, and checks
 * that every window from the first to the last ran (the ones due while Temporal was down too),
 * one after another in window order. The window is the time in the workflow id Temporal gives a
 * scheduled run (`<id>-<RFC 3339 time>`).
 */
async function scheduleOutcome(client: Client, scheduleId: string, every: number, outages: ReadonlyArray<[number, number]>): Promise<NonNullable<ChaosReport['schedule']>> {
  const handle = client.schedule.getHandle(scheduleId);
  await handle.pause('the chaos run is over');
  const query = `TemporalScheduledById = '${scheduleId}'`;
  const list = async () => {
    const out: Array<{ window: number; start: number; status: string }> = [];
    for await (const w of client.workflow.list({ query })) {
      const time = w.workflowId.slice(w.workflowId.lastIndexOf('-', w.workflowId.length - 21) + 1);
      out.push({ window: Date.parse(time), start: w.startTime.getTime(), status: w.status.name });
    }
    return out.sort((a, b) => a.window - b.window);
  };
  // Buffered actions still start after a pause; wait until the count stops growing and none runs.
  let runs = await list();
  for (let i = 0, last = -1; i < 120; i++) {
    if (runs.length === last && !runs.some((r) => r.status === 'RUNNING')) break;
    last = runs.length;
    await new Promise((r) => setTimeout(r, 2000));
    runs = await list();
  }
  const missed: string[] = [];
  for (let i = 1; i < runs.length; i++) {
    for (let t = (runs[i - 1]?.window ?? 0) + every * 1000; t < (runs[i]?.window ?? 0); t += every * 1000) missed.push(new Date(t).toISOString());
  }
  let outOfOrder = 0;
  for (let i = 1; i < runs.length; i++) if ((runs[i]?.start ?? 0) < (runs[i - 1]?.start ?? 0)) outOfOrder++;
  const caughtUp = runs.filter((r) => outages.some(([from, to]) => r.window >= from && r.window < to)).length;
  return {
    every, windows: runs.length, missed, outOfOrder, caughtUp,
    failed: runs.filter((r) => r.status !== 'COMPLETED' && r.status !== 'RUNNING').length,
    stillRunning: runs.filter((r) => r.status === 'RUNNING').length,
  };
}
