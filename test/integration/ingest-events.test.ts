import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeEventReaders } from '../../activities/event-reader';
import { createEventsActivities } from '../../activities/events-batch';
import { loadEventRange, StaleOffsetsError } from '../../activities/events-load';
import { deletePrefix, getObjectText } from '../../lib/s3';
import { readEvents } from '../../shop/dataset/read-sources';
import { ensureTopic, eventsProducer, produceEvents } from '../../shop/simulator/events';
import { eventsStreamWorkflow, stopEventsSignal } from '../../workflows/events-stream';
import { taggedDataset, type TestDataset } from '../support/datasets';
import { testEnv, type TestEnv } from '../support/env';
import { startWorkerProcess, until } from '../support/wait';




describe('events pipeline (real Kafka, PostgreSQL, S3, Temporal; generator events sent by the simulator)', () => {
  let env: TestEnv;
  let data: TestDataset;
  const tag = `e${randomUUID().slice(0, 8)}`;
  const topics: string[] = [];

  const endOffsets = async (topic: string) => {
    const admin = env.deps.kafka.admin();
    await admin.connect();
    try {
      return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
    } finally {
      await admin.disconnect();
    }
  };
  const storedOffsets = async (group: string, topic: string) => {
    const { rows } = await env.deps.staging.query<{ partition: number; next_offset: string }>('select partition, next_offset from etl.kafka_offsets where consumer_group = $1 and topic = $2', [group, topic]);
    return new Map(rows.map((r) => [r.partition, BigInt(r.next_offset)]));
  };
  const newTopic = async (name: string) => {
    const topic = `test.events.${tag}.${name}`;
    topics.push(topic);
    await ensureTopic(env.deps.kafka, topic, 3);
    return topic;
  };

  beforeAll(async () => {
    env = await testEnv('ingest-events');
    data = await taggedDataset(tag, { days: 1, scale: 0.3 });
  });
  afterAll(async () => {
    await closeEventReaders();
    if (env) {
      // Shared databases: this run's rows leave with it.
      for (const t of topics) {
        await env.deps.staging.query(`delete from etl.quarantine where load_id like $1`, [`events/${t}/%`]);
        await env.deps.staging.query(`delete from etl.loads where load_id like $1`, [`events/${t}/%`]);
        await env.deps.staging.query('delete from etl.kafka_offsets where topic = $1', [t]);
      }
      await env.deps.staging.query('delete from staging.events where event_id like $1', [`${tag}-%`]);
      const admin = env.deps.kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics }).catch(() => undefined);
      await admin.disconnect();
    }
    data?.remove();
    await env?.close();
  });

  it('rolls a failed transaction back whole and loads the same range on the next call; refuses a stale range', async () => {
    const topic = await newTopic('hooks');
    const group = `test-${tag}-hooks`;
    const producer = eventsProducer(env.deps.kafka);
    await producer.connect();
    const ev = (i: number, extra: Record<string, unknown> = {}) => JSON.stringify({ event_id: `${tag}-h${i}`, event_name: 'view', user_id: `U${i % 5}`, session_id: 'S1', product_id: 'P1', order_id: null, price: '1.00', ts: '2024-03-01T00:00:00Z', ...extra });
    const values = [...Array.from({ length: 40 }, (_, i) => ev(i)), ev(3), ev(40, { ts: 'yesterday' }), '{"event_id":'];
    await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ key: `U${i % 5}`, value })) });
    await producer.disconnect();

    let failing = true;
    const seen: string[] = [];
    const acts = createEventsActivities(env.deps, [async (_client, b) => {
      seen.push(b.loadId);
      if (failing) throw new Error('simulated crash inside the transaction');
    }]);
    const input = { topic, consumerGroup: group, maxMessages: values.length, maxWaitMs: 30_000 };
    await expect(acts.consumeEventsBatch(input)).rejects.toThrow(/simulated crash/);
    expect((await env.deps.staging.query('select 1 from staging.events where event_id like $1', [`${tag}-h%`])).rowCount).toBe(0);
    expect(await storedOffsets(group, topic)).toEqual(new Map());
    const firstAttempt = [...seen].sort();

    failing = false;
    seen.length = 0;
    const out = await acts.consumeEventsBatch(input);
    expect(out.loads.map((l) => l.loadId).sort()).toEqual(firstAttempt); // the same ranges, so the same loads
    expect(out).toMatchObject({ received: 43, loaded: 40, duplicates: 1, quarantined: 2 });
    expect(await storedOffsets(group, topic)).toEqual(await endOffsets(topic));
    // The raw zone holds every message of each range as received; the lake quarantine, each reject.
    const { rows: recorded } = await env.deps.staging.query<{ received: number; quarantined: number; detail: { rawKey: string; quarantineKey: string | null } }>(
      'select received, quarantined, detail from etl.loads where load_id = any($1)', [out.loads.map((l) => l.loadId)]);
    let rejects = 0;
    for (const r of recorded) {
      expect((await getObjectText(env.deps.s3, env.deps.bucket, r.detail.rawKey)).split('\n').filter(Boolean)).toHaveLength(r.received);
      if (r.detail.quarantineKey) rejects += (await getObjectText(env.deps.s3, env.deps.bucket, r.detail.quarantineKey)).trim().split('\n').length;
      await deletePrefix(env.deps.s3, env.deps.bucket, r.detail.rawKey);
    }
    expect(rejects).toBe(2);

    const client = await env.deps.staging.connect();
    try {
      await client.query('begin');
      const stale = { topic, group, partition: 0, loadId: `events/${topic}/0:0-0`, dt: '2024-03-01', messages: [{ partition: 0, offset: '0', value: Buffer.from(ev(0)), timestamp: '0' }] };
      await expect(loadEventRange(client, { s3: env.deps.s3, bucket: env.deps.bucket }, stale, [])).rejects.toBeInstanceOf(StaleOffsetsError);
    } finally {
      await client.query('rollback');
      client.release();
    }
  });

  it('loads every event exactly once although the worker is killed -9 mid-stream and restarted', async () => {
    const topic = await newTopic('stream');
    const group = `test-${tag}-stream`;
    const producer = eventsProducer(env.deps.kafka);
    await producer.connect();
    const sent = await produceEvents({ producer, topic, dataDir: data.dir });
    await producer.disconnect();
    const m = data.manifest.files['events.jsonl'];
    expect(sent.sent).toBe(m?.rows);
    const end = await endOffsets(topic);
    const total = [...end.values()].reduce((a, b) => a + b, 0n);

    const taskQueue = `test-ingest-events-kill-${tag}`;
    let worker = await startWorkerProcess(taskQueue);
    const workflowId = `events/stream/test-${tag}`;
    console.log(`events stream workflow id: ${workflowId}`);
    const handle = await env.client.workflow.start(eventsStreamWorkflow, {
      taskQueue, workflowId, args: [{ topic, consumerGroup: group, maxMessages: 1000, maxWaitMs: 500, batchesPerRun: 8, idleSleepMs: 200 }],
    });
    try {
      const sum = async () => [...(await storedOffsets(group, topic)).values()].reduce((a, b) => a + b, 0n);
      await until('a third of the stream', async () => ((await sum()) * 3n >= total ? true : undefined));
      // Kill while a range's transaction is open: a backend holds the partition's advisory lock.
      const keys = [0, 1, 2].map((p) => `etl.kafka_offsets/${group}/${topic}/${p}`);
      await until('a transaction in flight', async () => {
        const { rowCount } = await env.deps.staging.query(
          `select 1 from pg_locks l where l.locktype = 'advisory' and l.granted and l.objsubid = 1
             and ((l.classid::bigint << 32) | l.objid::bigint) = any(select hashtextextended(k, 0) from unnest($1::text[]) k)`, [keys]);
        return rowCount ? true : undefined;
      }, 60_000, 2);
      worker.kill('SIGKILL');
      expect(await sum()).toBeLessThan(total);
      worker = await startWorkerProcess(taskQueue);
      await until('the stored offsets to reach the end of the topic', async () => ((await sum()) === total ? true : undefined));
      expect(await storedOffsets(group, topic)).toEqual(end);
      await handle.signal(stopEventsSignal);
      const result = await handle.result();
      expect(result.stoppedBy).toBe('signal');
      expect(result.runs).toBeGreaterThan(1); // continued as new along the way
      // The kill hit a batch in flight: some run of the workflow retried an activity on the new worker.
      let retried = false;
      for await (const w of env.client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
        const h = await env.client.workflow.getHandle(workflowId, w.runId).fetchHistory();
        retried ||= (h.events ?? []).some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
      }
      expect(retried).toBe(true);
    } finally {
      worker.kill('SIGTERM');
    }

    // Every valid event_id of the dataset is in staging exactly once (the primary key forbids more).
    const ids = new Set<string>();
    for await (const e of readEvents(data.dir)) if (e.check.ok) ids.add(e.check.value.eventId);
    const { rows } = await env.deps.staging.query<{ event_id: string }>('select event_id from staging.events where event_id like $1', [`${tag}-E%`]);
    expect(rows.length).toBe(ids.size);
    expect(new Set(rows.map((r) => r.event_id))).toEqual(ids);

    // The committed loads cover each partition's offsets once, without gap or overlap, and reconcile.
    const { rows: loads } = await env.deps.staging.query<{ detail: { partition: number; firstOffset: string; lastOffset: string }; received: number; loaded: number; quarantined: number; duplicates: number }>(
      `select detail, received, loaded, quarantined, duplicates from etl.loads where load_id like $1 and status = 'succeeded' order by (detail->>'partition')::int, (detail->>'firstOffset')::bigint`, [`events/${topic}/%`]);
    const next = new Map<number, bigint>();
    for (const l of loads) {
      expect(BigInt(l.detail.firstOffset)).toBe(next.get(l.detail.partition) ?? 0n);
      next.set(l.detail.partition, BigInt(l.detail.lastOffset) + 1n);
      expect(l.received).toBe(l.loaded + l.quarantined + l.duplicates);
    }
    expect(next).toEqual(end);
    const sumOf = (k: 'received' | 'loaded' | 'quarantined' | 'duplicates') => loads.reduce((a, l) => a + l[k], 0);
    expect({ received: sumOf('received'), loaded: sumOf('loaded'), quarantined: sumOf('quarantined'), duplicates: sumOf('duplicates') })
      .toEqual({ received: m?.rows, loaded: ids.size, quarantined: m?.invalid, duplicates: m?.duplicates });
  });
});
