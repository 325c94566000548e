/** Waiting helpers shared by the integration tests: polling for a condition, a worker in a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';

const ROOT = join(__dirname, '..', '..');

/** Polls `fn` until it returns something other than undefined; fails naming `what` after the timeout. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 240_000, everyMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Starts `etl worker` in a child process (so a test can kill it) and resolves once it polls. It
 * inherits the file's environment: its own databases and the test namespace (test/file-setup.ts).
 * `env` replaces the inherited environment (a run with databases of its own). With `log`, its
 * whole output is appended to that file (the chaos run keeps it); without, the error of a worker
 * that never polls carries the end of its stderr. It serves the TypeScript queues only (`queues`,
 * default without the Python ML worker), with no /metrics unless `metricsPort` is given (several
 * run at once).
 */
export function startWorkerProcess(taskQueue: string, opts: { log?: string; env?: NodeJS.ProcessEnv; queues?: string; metricsPort?: number } = {}): Promise<ChildProcess> {
  const env = { ...(opts.env ?? process.env), ETL_METRICS_PORT: String(opts.metricsPort ?? 0) };
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'etl.js'), 'worker', '--task-queue', taskQueue, '--queues', opts.queues ?? 'default,stream,heavy'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = opts.log ? createWriteStream(opts.log, { flags: 'a' }) : null;
  if (out) child.stderr?.pipe(out);
  child.on('exit', () => out?.end());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker did not start within 120 s${opts.log ? `; its output: ${opts.log}` : ''}`));
    }, 120_000);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      out?.write(d);
      if (d.toString().includes('worker polling')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${String(code)} before polling: ${opts.log ? `its output: ${opts.log}` : err.slice(-2000)}`));
    });
  });
}

/** The range transaction a kill interrupted: its partition, the stored offset it started from, and the database's clock at the kill. */
export interface KilledRange { partition: number; offset: string; at: Date }

/**
 * Kills the worker (SIGKILL) while one of the group's range transactions is certainly open: the
 * stored-offset row of a partition is held FOR UPDATE, so that partition's next range blocks at its
 * offset update with its advisory lock held; the kill lands then, and the row is let go. Returns
 * that range's start, for rangeReloadedAfter.
 */
export async function killDuringRange(worker: ChildProcess, staging: Pool, group: string, topic: string, ends?: ReadonlyMap<number, bigint>): Promise<KilledRange> {
  const partition = await until('a partition with a stored offset', async () => (await storedPartition(staging, group, topic, ends)) ?? undefined);
  const block = await blockRangeCommit(staging, group, topic, partition);
  try {
    await until('a range transaction blocked in flight', async () => ((await rangeTransactionInFlight(staging, group, topic, [partition])) ? true : undefined), 60_000, 20);
    worker.kill('SIGKILL');
    const { rows } = await staging.query<{ offset: string; at: Date }>(
      'select next_offset::text as offset, clock_timestamp() as at from etl.kafka_offsets where consumer_group = $1 and topic = $2 and partition = $3', [group, topic, partition]);
    return { partition, offset: rows[0]?.offset ?? '?', at: rows[0]?.at ?? new Date() };
  } finally {
    await block.release();
  }
}

/**
 * The data's proof that a kill hit work in flight and the work was done again: the range starting
 * where the killed one did is in etl.loads as succeeded, by a transaction that began after the kill
 * (the killed one's row was rolled back with it). Whether an activity attempt was retried is not
 * asked: a session may hand over or restart instead (activities/common/heartbeat.ts, handOver).
 */
export async function rangeReloadedAfter(staging: Pool, topic: string, killed: KilledRange): Promise<{ loadId: string; startedAt: Date } | undefined> {
  const { rows } = await staging.query<{ load_id: string; started_at: Date }>(
    `select load_id, started_at from etl.loads where load_id like $1 and status = 'succeeded' and (detail->>'partition')::int = $2 and detail->>'firstOffset' = $3`,
    [`events/${topic}/%`, killed.partition, killed.offset]);
  const r = rows[0];
  return r && r.started_at > killed.at ? { loadId: r.load_id, startedAt: r.started_at } : undefined;
}

/** True while a backend holds the advisory lock of one of the topic's partition ranges (a range's transaction is open). */
export async function rangeTransactionInFlight(staging: Pool, group: string, topic: string, partitions: readonly number[]): Promise<boolean> {
  const keys = partitions.map((p) => `etl.kafka_offsets/${group}/${topic}/${p}`);
  const { rowCount } = await staging.query(
    `select 1 from pg_locks l where l.locktype = 'advisory' and l.granted and l.objsubid = 1
       and ((l.classid::bigint << 32) | l.objid::bigint) = any(select hashtextextended(k, 0) from unnest($1::text[]) k)`, [keys]);
  return (rowCount ?? 0) > 0;
}

/** Whether any run of the workflow (continued-as-new runs included) started an activity attempt after the first. */
export async function anyActivityRetried(client: Client, workflowId: string): Promise<boolean> {
  for await (const w of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    const h = await client.workflow.getHandle(workflowId, w.runId).fetchHistory();
    if ((h.events ?? []).some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)) return true;
  }
  return false;
}

/**
 * Holds the stored-offset row of one partition FOR UPDATE, so a range transaction of that
 * partition blocks at its offset update with its advisory lock held: a kill then certainly lands
 * on work in flight. The row must exist (a first range has committed). `release` rolls back.
 */
export async function blockRangeCommit(staging: Pool, group: string, topic: string, partition: number): Promise<{ release(): Promise<void> }> {
  const client = await staging.connect();
  await client.query('begin');
  const { rowCount } = await client.query('select 1 from etl.kafka_offsets where consumer_group = $1 and topic = $2 and partition = $3 for update', [group, topic, partition]);
  if (!rowCount) {
    await client.query('rollback');
    client.release();
    throw new Error(`no stored offset yet for ${group}/${topic}/${partition}`);
  }
  return {
    async release() {
      await client.query('rollback').catch(() => undefined);
      client.release();
    },
  };
}

/** A partition of the topic that has a stored offset for the group, or null. */
/**
 * A partition the group has stored an offset for. With `ends` (the topic's end offsets), one that
 * still has messages to read, the least read first: a partition read to its end gets no more ranges.
 */
export async function storedPartition(staging: Pool, group: string, topic: string, ends?: ReadonlyMap<number, bigint>): Promise<number | null> {
  const { rows } = await staging.query<{ partition: number; next_offset: string }>('select partition, next_offset::text from etl.kafka_offsets where consumer_group = $1 and topic = $2 order by partition', [group, topic]);
  if (!ends) return rows[0]?.partition ?? null;
  const open = rows.filter((r) => BigInt(r.next_offset) < (ends.get(r.partition) ?? 0n));
  open.sort((a, b) => Number(BigInt(a.next_offset) - (ends.get(a.partition) ?? 0n)) - Number(BigInt(b.next_offset) - (ends.get(b.partition) ?? 0n)));
  return open[0]?.partition ?? null;
}
