/**
 * Chaos, first scenario (issue 13): PostgreSQL killed with SIGKILL in the middle of the events
 * stream, then started again by `etl services up postgres`. The events range transactions commit
 * without waiting for their WAL flush (activities/events/load.ts), so a crash may undo the last
 * committed ranges; the claim is that it undoes rows, load record and stored offset together, and
 * that the stream then reads those ranges from Kafka again: every event_id staged exactly once.
 *
 * --events messages (3 partitions, 1 % of them sent twice, the copy later in the stream) go to a
 * private topic; a real worker (`etl worker`, child process) runs eventsStreamWorkflow on a private
 * task queue; once --kill-at of the stream is stored, the postmaster is killed (-9) and restarted;
 * the run ends when the stored offsets reach the topic's end. Checks: each distinct event_id staged
 * once, the loads cover every partition's offsets without gap or overlap, they reconcile, and their
 * sums equal what was sent. Reports how far the stored offsets stepped back across the crash.
 *   npx tsx bench/chaos-postgres.ts --events 600000 --kill-at 0.4
 * It kills the project's own local PostgreSQL: do not run it beside the tests or another bench.
 * Everything it writes is deleted at the end, except the worker's output, kept in
 * $ETL_HOME/<tag>-worker.log. The stepped-back figure is a lower bound: the stored offsets are read
 * just before the kill and again once `services up` returned, when the worker may have committed more.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { loadConfig } from '../config';
import { makeKafka, makePool, makeS3 } from '../lib/clients';
import { deletePrefix } from '../lib/s3';
import { servicePaths } from '../services/paths';
import { isOurs } from '../services/process';
import { ensureTopic, eventsProducer } from '../shop/simulator/events';

const ROOT = join(__dirname, '..');
const PARTITIONS = 3;

/** `etl worker` in a child process, its output kept in `log`; a worker that exits fails the run. */
function startWorker(taskQueue: string, log: string): Promise<ChildProcess> {
  const out = createWriteStream(log);
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'etl.js'), 'worker', '--task-queue', taskQueue], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr?.pipe(out);
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out.write(d);
      if (d.toString().includes('worker polling')) resolve(child);
    });
    child.on('exit', (code, signal) => {
      const why = `the worker exited (${String(code ?? signal)}); its output: ${log}`;
      reject(new Error(why));
      if (signal !== 'SIGTERM') workerDied = why;
    });
  });
}

let workerDied: string | null = null;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { events: { type: 'string', default: '600000' }, 'kill-at': { type: 'string', default: '0.4' } } });
  const total = Number(values.events);
  const killAt = Number(values['kill-at']);
  const config = loadConfig();
  const kafka = makeKafka(config, 'bench-chaos');
  const staging = makePool(config, 'staging', 2);
  // The bench's own connections die with the server too: every query is retried until it answers.
  const q = async <T extends object>(sql: string, params: unknown[] = []): Promise<T[]> => {
    for (let i = 0; ; i++) {
      try {
        return (await staging.query<T>(sql, params)).rows;
      } catch (err) {
        if (i > 300) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const tag = `chaos-pg-${randomUUID().slice(0, 8)}`;
  const topic = `bench.chaos.${tag}`;
  const group = tag;
  let worker: ChildProcess | null = null;
  try {
    await ensureTopic(kafka, topic, PARTITIONS);
    const producer = eventsProducer(kafka);
    await producer.connect();
    const ids = new Set<string>();
    let sent = 0;
    const event = (n: number) => {
      const name = n % 10 === 9 ? 'order' : n % 10 > 6 ? 'add_to_cart' : 'view';
      return JSON.stringify({ event_id: `${tag}-${n}`, event_name: name, user_id: `U${(n * 7919) % 5000}`, session_id: `S${n % 20000}`, product_id: `P${n % 300}`,
        order_id: name === 'order' ? `${tag}-O${n}` : null, price: name === 'view' ? null : '9.99', ts: new Date(Date.UTC(2031, 0, 1) + n * 100).toISOString() });
    };
    for (let i = 0; i < total; i += 5000) {
      const messages = [];
      for (let n = i; n < Math.min(total, i + 5000); n++) {
        messages.push({ key: `U${(n * 7919) % 5000}`, value: event(n) });
        ids.add(`${tag}-${n}`);
        // 1 % sent again, a few thousand messages later (a producer retry that was not deduplicated).
        if (n % 100 === 42 && n > 3000) messages.push({ key: `U${((n - 3000) * 7919) % 5000}`, value: event(n - 3000) });
      }
      sent += messages.length;
      await producer.send({ topic, acks: -1, messages });
    }
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    const end = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
    await admin.disconnect();
    const endSum = [...end.values()].reduce((a, b) => a + b, 0n);
    console.log(JSON.stringify({ produced: sent, distinct: ids.size, partitions: PARTITIONS }));

    const stored = async () => (await q<{ n: string }>('select coalesce(sum(next_offset), 0) n from etl.kafka_offsets where consumer_group = $1 and topic = $2', [group, topic]))[0]?.n ?? '0';
    const log = join(servicePaths(config, 'postgres').dir, '..', `${tag}-worker.log`);
    worker = await startWorker(tag, log);
    const began = Date.now();
    await client.workflow.start('eventsStreamWorkflow', { taskQueue: tag, workflowId: `events/stream/${tag}`, args: [{ topic, consumerGroup: group }] });
    const startDeadline = Date.now() + 10 * 60_000;
    while (BigInt(await stored()) < BigInt(Math.floor(Number(endSum) * killAt))) {
      if (workerDied) throw new Error(workerDied);
      if (Date.now() > startDeadline) throw new Error(`the stream did not reach ${killAt} of the topic in 10 minutes: ${await stored()} of ${endSum}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const beforeKill = BigInt(await stored());
    const paths = servicePaths(config, 'postgres');
    const pid = Number(readFileSync(paths.pid, 'utf8').trim());
    if (!isOurs(pid, { executable: 'postgres', marker: paths.dir })) throw new Error(`pid ${pid} of ${paths.pid} is not this project's PostgreSQL; not killing it`);
    process.kill(pid, 'SIGKILL');
    const killedAt = Date.now();
    console.log(JSON.stringify({ killed: 'postgres', pid, storedBeforeKill: String(beforeKill), of: String(endSum), afterSeconds: (killedAt - began) / 1000 }));
    // At once, as an operator would: `etl services up` must itself wait for the dead postmaster and
    // its backends to be gone (services/postgres.ts).
    execFileSync(process.execPath, [join(ROOT, 'bin', 'etl.js'), 'services', 'up', 'postgres'], { cwd: ROOT, env: process.env, stdio: 'inherit' });
    const afterRestart = BigInt(await stored());
    console.log(JSON.stringify({ restarted: 'postgres', seconds: (Date.now() - killedAt) / 1000, storedAfterRestart: String(afterRestart), steppedBack: String(beforeKill > afterRestart ? beforeKill - afterRestart : 0n) }));
    const deadline = Date.now() + 15 * 60_000;
    while (BigInt(await stored()) < endSum) {
      if (workerDied) throw new Error(workerDied);
      if (Date.now() > deadline) throw new Error(`the stream did not reach the end in 15 minutes after the restart: ${await stored()} of ${endSum}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await client.workflow.getHandle(`events/stream/${tag}`).signal('stop');
    await client.workflow.getHandle(`events/stream/${tag}`).result();

    // What staging holds: each distinct event once; the loads tile the offsets and add up.
    const [staged] = await q<{ n: string; distinct: string }>('select count(*) n, count(distinct event_id) distinct from staging.events where event_id like $1', [`${tag}-%`]);
    const loads = await q<{ partition: number; first: string; last: string; received: number; loaded: number; quarantined: number; duplicates: number }>(
      `select (detail->>'partition')::int partition, detail->>'firstOffset' first, detail->>'lastOffset' last, received, loaded, quarantined, duplicates
       from etl.loads where load_id like $1 and status = 'succeeded' order by 1, (detail->>'firstOffset')::bigint`, [`events/${topic}/%`]);
    const next = new Map<number, bigint>();
    const gaps: string[] = [];
    for (const l of loads) {
      if (BigInt(l.first) !== (next.get(l.partition) ?? 0n)) gaps.push(`partition ${l.partition}: a load starts at ${l.first}, expected ${next.get(l.partition) ?? 0n}`);
      next.set(l.partition, BigInt(l.last) + 1n);
      if (l.received !== l.loaded + l.quarantined + l.duplicates) gaps.push(`a load of partition ${l.partition} at ${l.first} does not reconcile`);
    }
    const sum = (k: 'received' | 'loaded' | 'duplicates' | 'quarantined') => loads.reduce((a, l) => a + l[k], 0);
    const result = {
      events: { sent, distinct: ids.size }, staged: Number(staged?.n), stagedDistinct: Number(staged?.distinct),
      loads: { count: loads.length, received: sum('received'), loaded: sum('loaded'), duplicates: sum('duplicates'), quarantined: sum('quarantined') },
      offsetsAtEnd: Object.fromEntries([...next].map(([p, o]) => [p, String(o)])), gaps,
    };
    console.log(JSON.stringify(result));
    const ok = result.staged === ids.size && result.stagedDistinct === ids.size && gaps.length === 0 && result.loads.received === sent
      && result.loads.loaded === ids.size && result.loads.duplicates === sent - ids.size && [...end].every(([p, o]) => next.get(p) === o);
    console.log(ok ? 'exactly once across the PostgreSQL crash: OK' : 'VIOLATION: see the result above');
    if (!ok) process.exitCode = 1;
  } finally {
    // Each step on its own: one failing (the database still down) does not skip the others.
    const step = (what: string, fn: () => Promise<unknown>) => fn().catch((err: unknown) => console.error(`cleanup: ${what} failed: ${String(err)}`));
    await step('terminate the workflow', () => client.workflow.getHandle(`events/stream/${tag}`).terminate('chaos bench cleanup').catch((err: unknown) => {
      if (!(err instanceof WorkflowNotFoundError)) throw err; // already stopped: the run got to the end
    }));
    worker?.kill('SIGTERM');
    for (const [table, where, arg] of [['staging.events', 'event_id like $1', `${tag}-%`], ['etl.quarantine', 'load_id like $1', `events/${topic}/%`], ['etl.realtime_dirty', 'load_id like $1', `events/${topic}/%`],
      ['etl.loads', 'load_id like $1', `events/${topic}/%`], ['etl.kafka_offsets', 'topic = $1', topic]] as const) {
      await step(`delete from ${table}`, () => staging.query(`delete from ${table} where ${where}`, [arg]));
    }
    const s3 = makeS3(config);
    // Raw event objects are filed under their messages' date: today's, and yesterday's for a run across midnight.
    for (const day of [0, 1]) await step('delete the raw objects', () => deletePrefix(s3, config.S3_BUCKET, `raw/events/dt=${new Date(Date.now() - day * 86_400_000).toISOString().slice(0, 10)}/${topic}-`));
    s3.destroy();
    await step('delete the topic', async () => {
      const admin = kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] }).finally(() => admin.disconnect());
    });
    await connection.close();
    await staging.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
