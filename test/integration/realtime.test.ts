import { deleteTopics } from '../../shop/simulator/testing';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { MergedEvent } from '../../activities/events/load';
import { createRealtimeActivities, markRealtimeMinutes } from '../../activities/realtime';
import { refreshDirtyMinutes } from '../../activities/realtime/refresh';
import { ensureTopic, eventsProducer } from '../../shop/simulator/events';
import { eventsStreamWorkflow, stopEventsSignal } from '../../workflows/events-stream';
import { realtimeMetricsWorkflow, stopRealtimeSignal } from '../../workflows/realtime';
import { taggedDataset, type TestDataset } from '../support/datasets';
import { testEnv, type TestEnv } from '../support/env';
import { actualMetrics, byOffset, expectedMetrics, randomEra, retagLine } from '../support/realtime';
import { killDuringRange, rangeReloadedAfter, startWorkerProcess, until, type KilledRange } from '../support/wait';

const DAY = 86_400_000;
const SOURCE_DAY = Date.UTC(2024, 2, 1); // the generator's --start below



describe('realtime per-minute metrics (real Kafka, PostgreSQL, Temporal; generated stream with duplicates and late events)', () => {
  let env: TestEnv;
  let data: TestDataset;
  const tag = `rt${randomUUID().slice(0, 8)}`;
  const topics: string[] = [];
  const eras: Date[] = [];

  beforeAll(async () => {
    env = await testEnv('realtime');
    data = await taggedDataset(tag, { days: 1, scale: 0.03, start: '2024-03-01', seed: 11 });
  });
  afterAll(async () => {
    // The file's databases are dropped with it; Kafka is shared.
    if (env) await deleteTopics(env.deps.kafka, topics);
    data?.remove();
    await env?.close();
  });

  /** Sends the dataset's events, moved to a fresh era, and runs both workflows until all are visible. */
  async function run(name: string, kill: boolean) {
    const era = randomEra();
    eras.push(era);
    const days = Math.round((era.getTime() - SOURCE_DAY) / DAY);
    const runTag = `${tag}${name}`;
    const lines = readFileSync(join(data.dir, 'events.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => retagLine(l, runTag, days));
    const topic = `test.realtime.${runTag}`;
    topics.push(topic);
    await ensureTopic(env.deps.kafka, topic, 3);
    const producer = eventsProducer(env.deps.kafka);
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: lines.map((value) => ({ key: /"user_id":"([^"]*)"/.exec(value)?.[1] ?? null, value })) });
    await producer.disconnect();
    const admin = env.deps.kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    const total = offsets.reduce((n, o) => n + Number(o.high), 0);
    const ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
    await admin.disconnect();

    const group = `test-${runTag}`;
    const consumed = async () => Number((await env.deps.staging.query<{ n: string }>(
      'select coalesce(sum(next_offset), 0)::text as n from etl.kafka_offsets where consumer_group = $1 and topic = $2', [group, topic])).rows[0]?.n ?? 0);
    const dirty = async () => (await env.deps.staging.query('select 1 from etl.realtime_dirty where load_id like $1 limit 1', [`events/${topic}/%`])).rowCount ?? 0;
    const taskQueue = `test-realtime-${runTag}`;
    let worker = await startWorkerProcess(taskQueue);
    const ids = { events: `events/stream/test-${runTag}`, realtime: `realtime/metrics/test-${runTag}` };
    console.log(`workflow ids: ${ids.events}, ${ids.realtime}`);
    const events = await env.client.workflow.start(eventsStreamWorkflow, { taskQueue, workflowId: ids.events, args: [{ topic, consumerGroup: group, maxMessages: 150, maxWaitMs: 300, idleSleepMs: 200 }] });
    const realtime = await env.client.workflow.start(realtimeMetricsWorkflow, { taskQueue, workflowId: ids.realtime, args: [{ pollMs: 200, passesPerRun: 40 }] });
    let killed: KilledRange | undefined;
    try {
      if (kill) {
        await until('a third of the stream', async () => ((await consumed()) * 3 >= total ? true : undefined));
        // Kill while a range's transaction is certainly open (its advisory lock held).
        killed = await killDuringRange(worker, env.deps.staging, group, topic, ends);
        expect(await consumed()).toBeLessThan(total);
        worker = await startWorkerProcess(taskQueue);
      }
      await until('the whole topic consumed', async () => ((await consumed()) === total ? true : undefined));
      await until('every dirty minute of the run recomputed', async () => ((await dirty()) === 0 ? true : undefined));
      await events.signal(stopEventsSignal);
      await realtime.signal(stopRealtimeSignal);
      await Promise.all([events.result(), realtime.result()]);
      // The kill hit a range in flight, and that range was loaded again after it.
      if (killed) expect(await rangeReloadedAfter(env.deps.staging, topic, killed)).toBeDefined();
    } finally {
      worker.kill('SIGTERM');
    }
    const actual = await actualMetrics(env.deps.analytics, era, new Date(era.getTime() + 2 * DAY));
    return { era, lines, actual, expected: expectedMetrics(lines), ids };
  }

  let clean: Awaited<ReturnType<typeof run>>;

  it('per-minute metrics equal an independent computation from the events file', async () => {
    clean = await run('a', false);
    expect(clean.expected.size).toBeGreaterThan(100);
    expect(Object.fromEntries(clean.actual)).toEqual(Object.fromEntries(clean.expected));
    // The planted defects were there: some event_ids repeat and some lines are older than one before them.
    const ids = clean.lines.map((l) => /"event_id":"([^"]*)"/.exec(l)?.[1]);
    expect(new Set(ids).size).toBeLessThan(ids.length);
    const ts = clean.lines.map((l) => Date.parse(/"ts":"([^"]*)"/.exec(l)?.[1] ?? ''));
    expect(ts.some((t, i) => i > 0 && t < Math.max(...ts.slice(Math.max(0, i - 50), i).filter((x) => !Number.isNaN(x))) - 3_600_000)).toBe(true);
  });

  it('a refresh repeated after a crash between its steps leaves the same metrics', async () => {
    // The clean run's staged events again, in an era of their own, committed as three loads (one per
    // partition) with their marks in the same transaction, as the events pipeline commits them.
    const era = randomEra();
    eras.push(era);
    const topic = `test.realtime.crash-${tag}`;
    const shiftMs = era.getTime() - clean.era.getTime();
    for (const partition of [0, 1, 2]) {
      const client = await env.deps.staging.connect();
      try {
        await client.query('begin');
        const loadId = `events/${topic}/${partition}:0-0`;
        await client.query(`insert into staging.events (event_id, event_name, user_id, session_id, product_id, order_id, price, ts, kafka_partition, kafka_offset, load_id)
          select 'crash-' || event_id, event_name, user_id, session_id, product_id, order_id, price, ts + $3 * interval '1 millisecond', kafka_partition, kafka_offset, $4
          from staging.events where event_id like $1 and kafka_partition = $2`, [`${tag}a-%`, partition, shiftMs, loadId]);
        await client.query(`insert into etl.realtime_dirty (minute, load_id, topic, partition, last_offset)
          select distinct date_bin('1 minute', ts, timestamptz 'epoch'), load_id, $2, kafka_partition, (select max(kafka_offset) from staging.events where load_id = $1)
          from staging.events where load_id = $1`, [loadId, topic]);
        await client.query('commit');
      } finally {
        client.release();
      }
    }
    const marks = async () => (await env.deps.staging.query('select 1 from etl.realtime_dirty where topic = $1', [topic])).rowCount ?? 0;
    expect(await marks()).toBeGreaterThan(0);
    // A crash after the pass read the loads, before analytics committed: nothing applied, marks kept.
    await expect(refreshDirtyMinutes(env.deps.staging, env.deps.analytics, env.deps.pseudonymKey, undefined, { failAfter: 'read' })).rejects.toThrow(/simulated crash/);
    expect((await actualMetrics(env.deps.analytics, era, new Date(era.getTime() + 2 * DAY))).size).toBe(0);
    // A crash after analytics committed, before the marks were cleared: applied once, marks kept.
    await expect(refreshDirtyMinutes(env.deps.staging, env.deps.analytics, env.deps.pseudonymKey, undefined, { failAfter: 'apply' })).rejects.toThrow(/simulated crash/);
    expect(await marks()).toBeGreaterThan(0);
    // The next passes find the loads applied, clear their marks, and count nothing twice.
    const acts = createRealtimeActivities(env.deps);
    await until('the marks to be consumed', async () => {
      await acts.refreshRealtime({});
      return (await marks()) === 0 ? true : undefined;
    }, 60_000);
    await env.deps.analytics.query('delete from realtime_visible where topic = $1', [topic]);
    const after = await actualMetrics(env.deps.analytics, era, new Date(era.getTime() + 2 * DAY));
    expect(byOffset(after, era)).toEqual(byOffset(clean.actual, clean.era));
    // The ledger of applied loads is pruned by the next pass, once their marks are gone.
    await acts.refreshRealtime({});
    expect((await env.deps.analytics.query('select 1 from realtime_applied where load_id like $1', [`events/${topic}/%`])).rowCount).toBe(0);
  });

  it('an idle session wakes when an events load with marks commits, not at its next poll', async () => {
    const acts = createRealtimeActivities(env.deps);
    // Nothing left over from the tests before: the session's first pass finds no work and waits.
    await until('no dirty marks', async () => ((await acts.refreshRealtime({})).loads === 0 ? true : undefined), 60_000);
    const era = randomEra();
    eras.push(era);
    const topic = `test.realtime.wake-${tag}`;
    const loadId = `events/${topic}/0:0-0`;
    // A poll of two minutes: only the wake can end the wait within the test's 60 s.
    const session = new MockActivityEnvironment().run(acts.runRealtimeSession, { pollMs: 120_000, maxPasses: 2 });
    const listeners = async () => (await env.deps.staging.query(
      `select 1 from pg_stat_activity where application_name = 'shop-etl:realtime-wake' and datname = current_database() and query like 'listen %'`)).rowCount ?? 0;
    // The listener is up once its LISTEN has run (it starts with the session's first pass).
    await until('the session listening', async () => (await listeners()) > 0 || undefined, 60_000);
    const client = await env.deps.staging.connect();
    const ts = new Date(era.getTime() + 60_000);
    try {
      await client.query('begin');
      await client.query(`insert into staging.events (event_id, event_name, user_id, session_id, product_id, order_id, price, ts, kafka_partition, kafka_offset, load_id)
        values ($1, 'view', 'U1', 'S1', 'P1', null, null, $2, 0, 0, $3)`, [`wake-${tag}`, ts, loadId]);
      await markRealtimeMinutes(client, { loadId, topic, partition: 0, events: [{ ts, offset: '0' } as unknown as MergedEvent] });
      await client.query('commit');
    } finally {
      client.release();
    }
    const out = await Promise.race([session, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the session did not wake within 60 s of the commit (is it listening?)')), 60_000))]);
    expect(out).toMatchObject({ passes: 2, loads: 1, endedBy: 'maxPasses' });
    // The session closed its listening connection as it ended.
    await until('the listener closed', async () => (await listeners()) === 0 || undefined, 10_000);
    expect((await env.deps.analytics.query<{ events: number }>('select events from realtime_minute where minute = $1', [new Date(Math.floor(ts.getTime() / 60_000) * 60_000)])).rows).toEqual([{ events: 1 }]);
  }, 180_000);

  it('exactly once: a worker killed -9 mid-stream and restarted gives the same per-minute metrics', async () => {
    const killed = await run('b', true);
    expect(Object.fromEntries(killed.actual)).toEqual(Object.fromEntries(killed.expected));
    expect(byOffset(killed.actual, killed.era)).toEqual(byOffset(clean.actual, clean.era));
  });
});
