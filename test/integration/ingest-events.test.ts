import { deleteTopics } from '../../shop/simulator/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeEventReaders } from '../../activities/events/reader';
import { createEventsActivities, type ConsumeEventsBatchInput } from '../../activities/events';
import { loadEventRange, StaleOffsetsError } from '../../activities/events/load';
import { rawMessageValue } from '../../activities/common/raw';
import { deletePrefix, getObjectBytes, getObjectText, listObjects } from '../../lib/s3';
import { readEvents } from '../../shop/dataset/read-sources';
import { ensureTopic, eventsProducer, produceEvents } from '../../shop/simulator/events';
import { eventsProgressQuery, eventsStreamWorkflow, stopEventsSignal } from '../../workflows/events-stream';
import { taggedDataset, type TestDataset } from '../support/datasets';
import { testEnv, type TestEnv } from '../support/env';
import { killDuringRange, rangeReloadedAfter, startWorkerProcess, until } from '../support/wait';
import { stopWorker } from '../support/chaos';

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
  const withAdmin = async <T>(f: (admin: ReturnType<TestEnv['deps']['kafka']['admin']>) => Promise<T>): Promise<T> => {
    const admin = env.deps.kafka.admin();
    await admin.connect();
    try {
      return await f(admin);
    } finally {
      await admin.disconnect();
    }
  };
  const newTopic = async (name: string, config: Record<string, string> = {}, partitions = 3) => {
    const topic = `test.events.${tag}.${name}`;
    topics.push(topic);
    if (Object.keys(config).length === 0 && partitions === 3) {
      await ensureTopic(env.deps.kafka, topic, 3);
      return topic;
    }
    const configEntries = Object.entries(config).map(([name, value]) => ({ name, value }));
    await withAdmin((admin) => admin.createTopics({ topics: [{ topic, numPartitions: partitions, configEntries }], waitForLeaders: true }));
    return topic;
  };
  const setTopicConfig = (topic: string, name: string, value: string) =>
    withAdmin((admin) => admin.alterConfigs({ validateOnly: false, resources: [{ type: 2 /* TOPIC */, name: topic, configEntries: [{ name, value }] }] }));
  const logStart = async (topic: string, partition: number) =>
    BigInt((await withAdmin((admin) => admin.fetchTopicOffsets(topic))).find((o) => o.partition === partition)?.low ?? '0');
  /** Sends one at a time, so each message's offset is known. */
  const produce = async (topic: string, messages: Array<Message & { partition: number }>) => {
    const producer = eventsProducer(env.deps.kafka);
    await producer.connect();
    try {
      const offsets: string[] = [];
      for (const m of messages) offsets.push((await producer.send({ topic, acks: -1, messages: [m] }))[0]?.baseOffset ?? '?');
      return offsets;
    } finally {
      await producer.disconnect();
    }
  };
  /** Calls the activity as the workflow would, until the stored offsets reach the end; an error is kept, not retried forever. */
  const consumeToEnd = async (run: (i: ConsumeEventsBatchInput) => Promise<unknown>, input: ConsumeEventsBatchInput, topic: string) => {
    const end = await endOffsets(topic);
    const errors: string[] = [];
    for (let call = 0; call < 60; call++) {
      const stored = await storedOffsets(String(input.consumerGroup), topic);
      if ([...end].every(([p, o]) => o === 0n || stored.get(p) === o)) break;
      await run(input).catch((e: unknown) => errors.push(e instanceof Error ? e.message.slice(0, 300) : String(e)));
    }
    return { end, errors };
  };

  beforeAll(async () => {
    env = await testEnv('ingest-events');
    data = await taggedDataset(tag, { days: 1, scale: 0.3 });
  });
  afterAll(async () => {
    await closeEventReaders();
    // The file's databases are dropped with it; Kafka is shared.
    if (env) await deleteTopics(env.deps.kafka, topics);
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
      // Read from an offset another attempt has since moved past: refused too.
      const moved = { ...stale, loadId: `events/${topic}/0:1-1`, from: '1', messages: [{ partition: 0, offset: '1', value: Buffer.from(ev(1)), timestamp: '0' }] };
      await expect(loadEventRange(client, { s3: env.deps.s3, bucket: env.deps.bucket }, moved, [])).rejects.toBeInstanceOf(StaleOffsetsError);
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
      taskQueue, workflowId, args: [{ topic, consumerGroup: group, maxMessages: 1000, maxWaitMs: 500, batchesPerRun: 8, idleSleepMs: 200, sessionMs: 500, sessionsPerRun: 1 }],
    });
    try {
      const sum = async () => [...(await storedOffsets(group, topic)).values()].reduce((a, b) => a + b, 0n);
      await until('a third of the stream', async () => ((await sum()) * 3n >= total ? true : undefined));
      // Kill while a range's transaction is certainly open (its advisory lock held).
      const killed = await killDuringRange(worker, env.deps.staging, group, topic, end);
      expect(await sum()).toBeLessThan(total);
      worker = await startWorkerProcess(taskQueue);
      await until('the stored offsets to reach the end of the topic', async () => ((await sum()) === total ? true : undefined));
      expect(await storedOffsets(group, topic)).toEqual(end);
      await handle.signal(stopEventsSignal);
      const result = await handle.result();
      expect(result.stoppedBy).toBe('signal');
      expect(result.runs).toBeGreaterThan(1); // continued as new along the way
      // The kill hit a range in flight, and that range was loaded again after it (by the new worker).
      expect(await rangeReloadedAfter(env.deps.staging, topic, killed)).toBeDefined();
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

  it('splits a 6-partition topic between two shards on two worker processes: each reads only its partitions, every event once', async () => {
    // Its own event ids: the other tests stage the shared dataset's.
    const own = await taggedDataset(`${tag}s`, { days: 1, scale: 0.1 });
    const topic = await newTopic('shards', {}, 6);
    const group = `test-${tag}-shards`;
    const producer = eventsProducer(env.deps.kafka);
    await producer.connect();
    await produceEvents({ producer, topic, dataDir: own.dir });
    await producer.disconnect();
    const end = await endOffsets(topic);
    expect([...end.values()].filter((o) => o > 0n).length).toBe(6); // every partition has events
    const taskQueue = `test-ingest-events-shards-${tag}`;
    const workers = [await startWorkerProcess(taskQueue), await startWorkerProcess(taskQueue)];
    try {
      const handles = await Promise.all([0, 1].map((index) => env.client.workflow.start(eventsStreamWorkflow, {
        taskQueue, workflowId: `events/stream/test-${tag}-shard-${index}-of-2`,
        // Short sessions, so each shard's totals (what its finished sessions read) catch up with the topic.
        args: [{ topic, consumerGroup: group, shard: { index, count: 2 }, maxMessages: 2000, maxWaitMs: 300, idleSleepMs: 200, sessionMs: 1000 }],
      })));
      await until('the stored offsets to reach the end of the topic', async () => {
        const stored = await storedOffsets(group, topic);
        return [...end].every(([p, o]) => stored.get(p) === o) ? true : undefined;
      });
      // Each shard read exactly its own partitions' messages: the even ones, and the odd ones.
      const sentTo = (parity: number) => [...end].filter(([p]) => p % 2 === parity).reduce((a, [, o]) => a + Number(o), 0);
      const read = async () => Promise.all(handles.map(async (h) => (await h.query(eventsProgressQuery)).received));
      await until('both shards to report what they read', async () => ((await read()).every((n, i) => n === sentTo(i)) ? true : undefined));
      await new Promise((r) => setTimeout(r, 1500)); // another session each: nothing more is read
      expect(await read()).toEqual([sentTo(0), sentTo(1)]);
      // Both worker processes run sessions: Temporal spreads the shards' short sessions over them.
      // Which poller gets a task is Temporal's choice, so this waits for it (sessions go on, reading
      // nothing); it once saw every session of a run go to one process (stop 31 and 32).
      const ranBy = async () => {
        const ran = new Set<string>();
        for (const h of handles) {
          for (const e of (await h.fetchHistory()).events ?? []) if (e.activityTaskStartedEventAttributes?.identity) ran.add(e.activityTaskStartedEventAttributes.identity);
        }
        return [...ran].map((identity) => Number(identity.split('@')[0])).sort();
      };
      const pids = workers.map((w) => w.pid).sort();
      await until('sessions on both worker processes', async () => (JSON.stringify(await ranBy()) === JSON.stringify(pids) ? true : undefined), 90_000, 1000).catch(() => undefined);
      expect(await read()).toEqual([sentTo(0), sentTo(1)]);
      await Promise.all(handles.map((h) => h.signal(stopEventsSignal)));
      await Promise.all(handles.map((h) => h.result()));
      expect(await ranBy()).toEqual(pids);
      const ids = new Set<string>();
      for await (const e of readEvents(own.dir)) if (e.check.ok) ids.add(e.check.value.eventId);
      const { rows } = await env.deps.staging.query<{ event_id: string }>('select event_id from staging.events where event_id like $1', [`${tag}s-%`]);
      expect(rows.length).toBe(ids.size);
      expect(new Set(rows.map((r) => r.event_id))).toEqual(ids);
    } finally {
      await Promise.all(workers.map((w) => stopWorker(w)));
      own.remove();
    }
  }, 480_000);

  it('quarantines every hostile message with its reason and exact bytes, loads the valid ones between them, and moves past all', async () => {
    const topic = await newTopic('hostile', { 'max.message.bytes': String(4 << 20) });
    const group = `test-${tag}-hostile`;
    const base = { event_name: 'view', user_id: 'U1', session_id: 'S1', product_id: 'P1', order_id: null, price: '1.00', ts: '2024-03-01T00:00:00Z' };
    const ev = (id: string, extra: Record<string, unknown> = {}) => JSON.stringify({ event_id: `${tag}-v${id}`, ...base, ...extra });
    const bad = (id: string) => JSON.stringify({ event_id: `${tag}-q${id}`, ...base });
    const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    const hostile: Array<[string, Buffer | null, RegExp]> = [
      ['not JSON', Buffer.from('this is not JSON {'), /not valid JSON/],
      ['binary', Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x0d]), randomBytes(200)]), /not valid UTF-8/],
      ['invalid UTF-8 in a valid event', Buffer.concat([Buffer.from(bad('u').slice(0, 20)), Buffer.from([0xc3, 0x28]), Buffer.from(bad('u').slice(20))]), /not valid UTF-8/],
      ['1.2 MB', Buffer.from(bad('big').replace('}', `,"pad":"${'x'.repeat(1_200_000)}"}`)), /message of \d+ bytes exceeds the 1 MiB limit/],
      ['10,000-deep event_name', Buffer.from(bad('deep').replace('"view"', nest(10_000))), /event_name is nested more than/],
      ['5,000-deep unknown field', Buffer.from(bad('deep2').replace('}', `,"context":${nest(5_000)}}`)), /context is nested more than/],
      ['price 1e400', Buffer.from(bad('inf').replace('"1.00"', '1e400')), /^price /],
      ['price a huge integer', Buffer.from(bad('bigp').replace('"1.00"', '123456789012345678901234567890')), /^price /],
      ['user_id a huge integer', Buffer.from(bad('bigu').replace('"U1"', '12345678901234567890')), /^user_id /],
      ['price rounding past numeric(14,2)', Buffer.from(bad('round').replace('"1.00"', '"999999999999.995"')), /^price /],
      ['ts in year 10000', Buffer.from(bad('y10k').replace('2024-03-01T00:00:00Z', '10000-01-01T00:00:00Z')), /^ts /],
      ['ts in year 0', Buffer.from(bad('y0').replace('2024-03-01T00:00:00Z', '0000-01-01T00:00:00Z')), /^ts /],
      ['ts in a negative year', Buffer.from(bad('yneg').replace('2024-03-01T00:00:00Z', '-0001-01-01T00:00:00Z')), /^ts /],
      ['NUL bytes', Buffer.from(bad('nul').replace('"S1"', '"S\u0000\u00001"')), /NUL/],
      ['an escaped NUL in an id', Buffer.from(bad('nul2').replace('"S1"', '"S\\u00001"')), /^session_id contains a NUL/],
      ['a 20,000-byte event_id', Buffer.from(JSON.stringify({ ...base, event_id: `${tag}-q${randomBytes(10_000).toString('hex')}` })), /^event_id is 2\d{4} bytes long/],
      ['an unpaired surrogate', Buffer.from(bad('sur').replace('"U1"', '"U\\ud800"')), /surrogate/],
      ['an object as event_id', Buffer.from(JSON.stringify({ ...base, event_id: { id: 1 } })), /^event_id must be a string/],
      ['no value (tombstone)', null, /empty message/],
      ['several lines, not JSON', Buffer.from('line one\nline two\r\n#three'), /not valid JSON/],
    ];
    const valid: Array<[string, Buffer]> = [
      ['plain', Buffer.from(ev('0'))],
      ['unknown fields', Buffer.from(ev('1', { campaign: 'spring', nested: { a: [1, { b: [2] }] }, huge: 1, tiny: 2 }).replace('"huge":1', '"huge":1e400').replace('"tiny":2', '"tiny":123456789012345678901234567890'))],
      ['pretty-printed over lines', Buffer.from(JSON.stringify(JSON.parse(ev('2')), null, 2))],
      ['plain', Buffer.from(ev('3', { event_name: 'order', order_id: 'O1', price: '999999999999.99' }))],
    ];
    // Hostile and valid interleaved over the three partitions; partition 2 starts with a valid event
    // whose Kafka timestamp is in year 10000 (the raw object's dt), and a valid event is sent twice.
    const sent: Array<{ partition: number; value: Buffer | null; kind: string; reason?: RegExp; eventId?: string; timestamp?: string }> = [
      { partition: 2, value: Buffer.from(ev('ts10k')), kind: 'Kafka timestamp in year 10000', eventId: `${tag}-vts10k`, timestamp: '253402300800000' },
    ];
    hostile.forEach(([kind, value, reason], i) => {
      sent.push({ partition: i % 3, value, kind, reason });
      const [vkind, vvalue] = valid[i] ?? ['plain', Buffer.from(ev(`n${i}`))];
      sent.push({ partition: (i + 1) % 3, value: vvalue, kind: vkind, eventId: `${tag}-v${valid[i] ? i : `n${i}`}` });
    });
    sent.push({ partition: 1, value: Buffer.from(ev('0')), kind: 'duplicate', eventId: `${tag}-v0` });
    const offsets = await produce(topic, sent.map((m) => ({ partition: m.partition, key: 'k', value: m.value, timestamp: m.timestamp })));
    const at = (p: number, o: string) => sent.find((m, i) => m.partition === p && offsets[i] === o);

    const acts = createEventsActivities(env.deps);
    // Small batches, bounded by bytes as well: the 1.2 MB message is a batch's first message on its own.
    const input = { topic, consumerGroup: group, maxMessages: 6, maxBytes: 256 << 10, maxWaitMs: 3000 };
    const { end, errors } = await consumeToEnd((i) => acts.consumeEventsBatch(i), input, topic);
    expect(errors).toEqual([]);
    expect(await storedOffsets(group, topic)).toEqual(end);

    // Every valid event is staged once; every hostile message is in etl.quarantine with its reason.
    const like = `events/${topic}/%`;
    const validIds = [...new Set(sent.flatMap((m) => (m.eventId ? [m.eventId] : [])))];
    const { rows: staged } = await env.deps.staging.query<{ event_id: string }>('select event_id from staging.events where load_id like $1', [like]);
    expect(staged.map((r) => r.event_id).sort()).toEqual([...validIds].sort());
    const { rows: quarantined } = await env.deps.staging.query<{ record_ref: string; reason: string; raw: string }>('select record_ref, reason, raw from etl.quarantine where load_id like $1', [like]);
    const byRef = new Map(quarantined.map((q) => [q.record_ref, q]));
    sent.forEach((m, i) => {
      if (!m.reason) return;
      const q = byRef.get(`${topic}/p${m.partition}@${offsets[i]}`);
      expect(q, m.kind).toBeDefined();
      expect(q?.reason, m.kind).toMatch(m.reason);
      const bytes = q?.reason.includes('(raw is base64') ? Buffer.from(q.raw, 'base64') : Buffer.from(q?.raw ?? '', 'utf8');
      expect(bytes.equals(m.value ?? Buffer.alloc(0)), `${m.kind}: etl.quarantine raw`).toBe(true);
    });
    expect(quarantined).toHaveLength(hostile.length);

    // The lake: each load's quarantine object gives back the hostile bytes exactly, its raw object every message.
    const { rows: loads } = await env.deps.staging.query<{ load_id: string; received: number; loaded: number; quarantined: number; duplicates: number; detail: { partition: number; firstOffset: string; rawKey: string; quarantineKey: string | null } }>(
      `select load_id, received, loaded, quarantined, duplicates, detail from etl.loads where load_id like $1 and status = 'succeeded'`, [like]);
    const lakeRefs = new Set<string>();
    for (const l of loads) {
      const raw = Buffer.from(await getObjectBytes(env.deps.s3, env.deps.bucket, l.detail.rawKey));
      const rawLines = raw.subarray(0, -1).toString('latin1').split('\n').map((t) => Buffer.from(t, 'latin1'));
      expect(rawLines).toHaveLength(l.received);
      rawLines.forEach((line, i) => {
        const m = at(l.detail.partition, (BigInt(l.detail.firstOffset) + BigInt(i)).toString());
        expect(rawMessageValue(line), `${l.load_id} line ${i} (${m?.kind})`).toEqual(m?.value);
      });
      if (!l.detail.quarantineKey) continue;
      const text = Buffer.from(await getObjectBytes(env.deps.s3, env.deps.bucket, l.detail.quarantineKey)).toString('utf8');
      for (const line of text.trim().split('\n')) {
        const q = JSON.parse(line) as { ref: string; reason: string; record: string; encoding?: 'base64' };
        const [p, o] = q.ref.slice(topic.length + 2).split('@') as [string, string];
        const m = at(Number(p), o);
        expect(q.reason, m?.kind).toMatch(m?.reason ?? /never/);
        expect(Buffer.from(q.record, q.encoding === 'base64' ? 'base64' : 'utf8').equals(m?.value ?? Buffer.alloc(0)), `${m?.kind}: lake record`).toBe(true);
        lakeRefs.add(q.ref);
      }
    }
    expect(lakeRefs.size).toBe(hostile.length);
    expect(loads.some((l) => l.detail.rawKey.includes('/dt=9999-12-31/'))).toBe(true);

    // received = loaded + quarantined + duplicates, each side counted on its own.
    const sum = (k: 'received' | 'loaded' | 'quarantined' | 'duplicates') => loads.reduce((a, l) => a + l[k], 0);
    expect(sum('received')).toBe(sent.length);
    expect(sum('loaded')).toBe(staged.length);
    expect(sum('quarantined')).toBe(quarantined.length);
    expect(sum('duplicates')).toBe(1);
    expect(sum('received')).toBe(staged.length + quarantined.length + 1);
  });

  it("moves past messages Kafka's retention deleted while the stream was stopped: counts them as lost in etl.loads and raises one data_lost alert", async () => {
    // Small segments, so retention can delete all but the last few messages.
    const topic = await newTopic('retention', { 'segment.bytes': '1024' }, 1);
    const group = `test-${tag}-retention`;
    const ev = (i: number) => JSON.stringify({ event_id: `${tag}-r${i}`, event_name: 'view', user_id: 'U1', session_id: 'S1', product_id: 'P1', order_id: null, price: '1.00', ts: '2024-03-01T00:00:00Z' });
    const send = (from: number, n: number) => produce(topic, Array.from({ length: n }, (_, i) => ({ partition: 0, key: 'k', value: ev(from + i) })));
    const acts = createEventsActivities(env.deps);
    const input = { topic, consumerGroup: group, maxMessages: 1000, maxWaitMs: 3000 };
    await send(0, 20);
    expect((await consumeToEnd((i) => acts.consumeEventsBatch(i), input, topic)).errors).toEqual([]);
    expect(await storedOffsets(group, topic)).toEqual(new Map([[0, 20n]]));

    // The stream stops; 30 more messages arrive, and a short retention.ms deletes most of them unread.
    await closeEventReaders();
    await send(20, 30);
    await setTopicConfig(topic, 'retention.ms', '100');
    // The project's broker applies retention every 2 s (services/kafka.ts); one started before that
    // setting (every 5 min) gets the same effect from DeleteRecords, which moves the log start too.
    const interval = await withAdmin((admin) => admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 4 /* BROKER */, name: '1', configNames: ['log.retention.check.interval.ms'] }] }));
    const checkMs = Number(interval.resources[0]?.configEntries[0]?.configValue ?? 300_000);
    if (checkMs > 10_000) {
      console.warn(`this broker checks retention every ${checkMs} ms (restart it with etl services down kafka && etl services up kafka): deleting the records instead`);
      await withAdmin((admin) => admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '45' }] }));
    }
    await until('retention to move the log start past the stored offset', async () => ((await logStart(topic, 0)) > 20n ? true : undefined), 60_000, 500);
    await setTopicConfig(topic, 'retention.ms', '-1');
    await send(50, 5);
    const low = await logStart(topic, 0);
    expect(low).toBeGreaterThan(20n);
    expect(low).toBeLessThanOrEqual(50n); // nothing sent after retention was set back is deleted

    const { end, errors } = await consumeToEnd((i) => acts.consumeEventsBatch(i), input, topic);
    expect(errors).toEqual([]);
    expect(await storedOffsets(group, topic)).toEqual(end);
    expect(end.get(0)).toBe(55n);

    // Staged: the 20 read before, and everything Kafka still had; nothing else.
    const { rows: staged } = await env.deps.staging.query<{ event_id: string }>('select event_id from staging.events where event_id like $1', [`${tag}-r%`]);
    const kept = Array.from({ length: 55 }, (_, i) => i).filter((i) => i < 20 || BigInt(i) >= low).map((i) => `${tag}-r${i}`);
    expect(staged.map((r) => r.event_id).sort()).toEqual(kept.sort());
    // The load that moved past the gap counts it as lost, apart from received (which still reconciles).
    const { rows: loads } = await env.deps.staging.query<{ load_id: string; received: number; loaded: number; lost: string; detail: { firstOffset: string; lastOffset: string; lostFrom?: string; lostTo?: string } }>(
      `select load_id, received, loaded, lost, detail from etl.loads where load_id like $1 and status = 'succeeded' order by (detail->>'firstOffset')::bigint`, [`events/${topic}/%`]);
    const gapLoad = loads.find((l) => Number(l.lost) > 0);
    expect(gapLoad?.detail).toMatchObject({ firstOffset: low.toString(), lostFrom: '20', lostTo: low.toString() });
    expect(Number(gapLoad?.lost)).toBe(Number(low) - 20);
    expect(loads.filter((l) => Number(l.lost) > 0)).toHaveLength(1);
    expect(loads.reduce((a, l) => a + l.received + Number(l.lost), 0)).toBe(55); // every offset is received or lost, once
    // One alert, naming the group, the partition, the offsets and the count.
    const { rows: alerts } = await env.deps.staging.query<{ alert_id: string; kind: string; message: string }>('select alert_id, kind, message from etl.alerts where alert_id like $1', [`events/${topic}/%`]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.kind).toBe('data_lost');
    expect(alerts[0]?.message).toContain(`group ${group} lost ${Number(low) - 20} messages of topic ${topic} partition 0, offsets 20-${low - 1n}`);
  });

  /** A topic whose one range of 5 events fails until `ok()`; attempts run as that attempt number of one activity. */
  async function failingRange(name: string, stuckAlertAfterMs: number) {
    const topic = await newTopic(name);
    const group = `test-${tag}-${name}`;
    const ev = (i: number) => JSON.stringify({ event_id: `${tag}-${name}${i}`, event_name: 'view', user_id: 'U1', session_id: 'S1', product_id: 'P1', order_id: null, price: '1.00', ts: '2024-03-01T00:00:00Z' });
    await produce(topic, Array.from({ length: 5 }, (_, i) => ({ partition: 0, key: 'k', value: ev(i) })));
    let failing = true;
    const acts = createEventsActivities({ ...env.deps, stuckAlertAfterMs }, [async () => {
      if (failing) throw new Error('simulated: this range cannot load');
    }]);
    const input = { topic, consumerGroup: group, maxMessages: 5, maxWaitMs: 30_000 };
    return {
      topic, group,
      alertId: `events/stuck/${group}/${topic}/0@0`,
      alerts: async () => (await env.deps.staging.query<{ alert_id: string; kind: string; pipeline: string; message: string; workflow_id: string }>('select * from etl.alerts where alert_id like $1', [`events/stuck/${group}/%`])).rows,
      attempt: (n: number) => new MockActivityEnvironment({ attempt: n, workflowExecution: { workflowId: `events/stream/${tag}`, runId: 'r1' } }).run(acts.consumeEventsBatch, input),
      ok: () => { failing = false; },
    };
  }

  it('raises one alert naming the partition, offsets and error when a range fails attempt after attempt, and keeps retrying', async () => {
    const { topic, group, alertId, alerts, attempt, ok } = await failingRange('stuck', 0);

    for (const n of [1, 2]) await expect(attempt(n)).rejects.toThrow(/simulated/);
    expect(await alerts()).toEqual([]); // ordinary retries say nothing
    for (const n of [3, 4, 5]) await expect(attempt(n)).rejects.toThrow(/simulated/); // still retryable
    const raised = await alerts();
    expect(raised).toHaveLength(1);
    expect(raised[0]).toMatchObject({ alert_id: alertId, kind: 'failed', pipeline: 'events', workflow_id: `events/stream/${tag}` });
    expect(raised[0]?.message).toMatch(new RegExp(`group ${group} is stuck on topic ${topic.replace(/\./g, '\\.')} partition 0, offsets 0-4: attempt 3 failed with Error: simulated: this range cannot load`));

    ok();
    expect(await attempt(6)).toMatchObject({ received: 5, loaded: 5 });
    expect(await storedOffsets(group, topic)).toEqual(new Map([[0, 5n]]));
  });

  it('calls a range stuck only once it has been failing for EVENTS_STUCK_ALERT_SECONDS, however many attempts failed before', async () => {
    // A fault the stream recovers from within the threshold (a PostgreSQL restart) pages no one.
    const quick = await failingRange('blip', 600_000);
    for (const n of [1, 2, 3, 4, 5, 6]) await expect(quick.attempt(n)).rejects.toThrow(/simulated/);
    expect(await quick.alerts()).toEqual([]);
    quick.ok();
    expect(await quick.attempt(7)).toMatchObject({ received: 5, loaded: 5 });
    expect(await quick.alerts()).toEqual([]);

    // The clock runs across attempts: past the threshold, the next failure alerts, saying for how long.
    const slow = await failingRange('slow', 2_000);
    await expect(slow.attempt(1)).rejects.toThrow(/simulated/);
    const failedFirst = Date.now(); // the clock starts at the first failure, after the read
    for (const n of [2, 3]) await expect(slow.attempt(n)).rejects.toThrow(/simulated/);
    await new Promise((r) => setTimeout(r, Math.max(0, failedFirst + 2_100 - Date.now())));
    await expect(slow.attempt(4)).rejects.toThrow(/simulated/);
    const raised = await slow.alerts();
    expect(raised).toHaveLength(1);
    expect(raised[0]?.alert_id).toBe(slow.alertId);
    expect(raised[0]?.message).toMatch(/attempt [34] failed with Error: simulated: this range cannot load\. It has been failing for \d+ s/);
  });

  it('a session reads the next batch while one commits: a range that fails leaves the range read after it on its partition untried, and the next session loads every event once', async () => {
    const topic = await newTopic('ahead', {}, 2);
    const group = `test-${tag}-ahead`;
    const ev = (p: number, i: number) => JSON.stringify({ event_id: `${tag}-a${p}-${i}`, event_name: 'view', user_id: 'U1', session_id: 'S1', product_id: 'P1', order_id: null, price: '1.00', ts: '2024-03-01T00:00:00Z' });
    await produce(topic, [0, 1].flatMap((p) => Array.from({ length: 30 }, (_, i) => ({ partition: p, key: `k${p}`, value: ev(p, i) }))));
    // Partition 1's range holding offset 5 fails, once.
    let failing = true;
    const acts = createEventsActivities(env.deps, [async (_client, b) => {
      const [first, last] = (b.loadId.split(':')[1] ?? '').split('-').map(Number) as [number, number];
      if (failing && b.partition === 1 && first <= 5 && last >= 5) throw new Error('simulated: the range holding offset 5 cannot load');
    }]);
    const input = { topic, consumerGroup: group, maxMessages: 10, maxWaitMs: 300, idleSleepMs: 10, maxBatches: 30 };
    const failing1 = new MockActivityEnvironment();
    let handed: { received?: number } | undefined;
    failing1.on('heartbeat', (d: { received?: number } | undefined) => (handed = d));
    await expect(failing1.run(acts.runEventsSession, input)).rejects.toThrow(/simulated: the range holding offset 5/);
    const loads = async () => (await env.deps.staging.query<{ load_id: string; status: string; partition: number; first: number; last: number }>(
      `select load_id, status, (detail->>'partition')::int as partition, split_part(split_part(load_id, ':', 2), '-', 1)::int as first, split_part(split_part(load_id, ':', 2), '-', 2)::int as last
       from etl.loads where load_id like $1 order by load_id`, [`events/${topic}/%`])).rows;
    const after = await loads();
    const failed = after.filter((l) => l.status === 'failed');
    expect(failed).toHaveLength(1);
    const bad = failed[0] as (typeof after)[number];
    expect(bad.load_id).toMatch(new RegExp(`/1:\\d+-\\d+$`));
    // Nothing after it on partition 1 was tried, and partition 1's offset stays where it began.
    expect(after.filter((l) => l.load_id.includes('/1:') && l.first > bad.last)).toEqual([]);
    const stored = await storedOffsets(group, topic);
    expect(stored.get(1) ?? 0n).toBe(BigInt(bad.first));
    // The range after it on partition 1 had been read ahead: its raw copy is in the lake, with no load.
    const raws = (await listObjects(env.deps.s3, env.deps.bucket, 'raw/events/')).map((o) => o.key).filter((k) => k.includes(`${topic}-p1-`));
    expect(raws.some((k) => k.includes(`${topic}-p1-${bad.last + 1}-`))).toBe(true);
    // The failed session's last heartbeat (what a retried attempt hands over) counts every range it
    // committed, those of the failing batch and of the batch read ahead included.
    const { rows: [firstSession] } = await env.deps.staging.query<{ received: number }>(
      `select coalesce(sum(received), 0)::int as received from etl.loads where load_id like $1 and status = 'succeeded'`, [`events/${topic}/%`]);
    expect(handed?.received ?? 0).toBe(firstSession?.received);

    failing = false;
    const out = await new MockActivityEnvironment().run(acts.runEventsSession, { ...input, maxBatches: 12 }) as { batches: number; received: number; endedBy: string };
    expect(await storedOffsets(group, topic)).toEqual(new Map([[0, 30n], [1, 30n]]));
    // The session's totals are what it committed, each batch counted once: everything from the stored offsets on.
    expect(out).toMatchObject({ batches: 12, endedBy: 'maxBatches', received: 60 - Number(stored.get(0) ?? 0n) - Number(stored.get(1) ?? 0n) });
    // The committed loads tile the offsets: 60 received in all.
    const { rows: committed } = await env.deps.staging.query<{ received: number }>(
      `select coalesce(sum(received), 0)::int as received from etl.loads where load_id like $1 and status = 'succeeded'`, [`events/${topic}/%`]);
    expect(committed[0]?.received).toBe(60);
    const { rows } = await env.deps.staging.query<{ n: number; d: number }>('select count(*)::int as n, count(distinct event_id)::int as d from staging.events where event_id like $1', [`${tag}-a%`]);
    expect(rows[0]).toEqual({ n: 60, d: 60 });
    // Only the failed attempt may be left failed (when the retry read other boundaries); the untried range left no record.
    expect((await loads()).filter((l) => l.status !== 'succeeded' && l.load_id !== bad.load_id)).toEqual([]);
    for (const o of await listObjects(env.deps.s3, env.deps.bucket, 'raw/events/')) if (o.key.includes(`${topic}-`)) await deletePrefix(env.deps.s3, env.deps.bucket, o.key);
  });
});
