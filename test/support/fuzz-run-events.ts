/**
 * Fuzzed events through real Kafka and the real events activity: a topic and consumer group of the
 * run's own (messages up to 4 MiB), valid and bad messages interleaved over three partitions (a
 * duplicate in its original's partition, so the later copy is the duplicate), consumed batch after
 * batch until the stored offsets reach the end; then every message found again by partition@offset.
 */
import { createActivities } from '../../activities';
import { closeEventReaders } from '../../activities/events/reader';
import { eventsProducer } from '../../shop/simulator/events';
import { jsonItems, type Item } from './fuzz-json';
import { emptyReport, reconcile, type LoadFacts, type ReceivedRecord, type SourceReport } from './fuzz-ledger';
import type { SourceRunOptions } from './fuzz-run-files';
import { dropLoads, errorText, loadFacts, seconds, withDeadline, type FuzzEnv } from './fuzz-run';
import { eventsSpec } from './fuzz-sources';
import { REALTIME_MINUTE_TABLES } from '../../activities/realtime';

const PARTITIONS = 3;
const SEND_BYTES = 2 << 20;

export async function fuzzEventsRun(env: FuzzEnv, o: SourceRunOptions): Promise<{ report: SourceReport; cleanUp(): Promise<void> }> {
  const began = performance.now();
  const report = emptyReport('events');
  const { staging, kafka } = env.deps;
  const topic = `test.fuzz.${o.tag}`;
  const group = `test-fuzz-${o.tag}`;
  const like = `events/${topic}/%`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS, configEntries: [{ name: 'max.message.bytes', value: String(4 << 20) }] }], waitForLeaders: true });

  // Sent in order per partition; offsets come back per send.
  const sent: Array<{ item: Item; partition: number; offset: string }> = [];
  const producer = eventsProducer(kafka);
  await producer.connect();
  try {
    const home = new Map<string, number>();
    const pending: Array<Array<{ item: Item; bytes: number }>> = Array.from({ length: PARTITIONS }, () => []);
    const flush = async (p: number) => {
      const batch = pending[p] ?? [];
      if (batch.length === 0) return;
      const [meta] = await producer.send({ topic, acks: -1, messages: batch.map((b) => ({ partition: p, key: null, value: b.item.bytes })) });
      // The bytes are Kafka's from here on: the peak RSS measured is then mostly the pipeline's.
      batch.forEach((b, i) => sent.push({ item: { ...b.item, bytes: Buffer.alloc(0) }, partition: p, offset: (BigInt(meta?.baseOffset ?? '0') + BigInt(i)).toString() }));
      pending[p] = [];
    };
    let n = 0;
    for (const item of jsonItems(eventsSpec(o.era), { seed: o.seed, tag: o.tag, bad: o.bad })) {
      if (o.exclude?.test(item.kind)) continue;
      const p = item.role === 'duplicate' && item.key !== null ? (home.get(item.key) ?? 0) : n++ % PARTITIONS;
      if (item.role === 'valid' && item.key !== null) home.set(item.key, p);
      const list = pending[p] as Array<{ item: Item; bytes: number }>;
      if (list.reduce((a, b) => a + b.bytes, 0) + item.bytes.length > SEND_BYTES) await flush(p);
      (pending[p] as Array<{ item: Item; bytes: number }>).push({ item, bytes: item.bytes.length });
    }
    for (let p = 0; p < PARTITIONS; p++) await flush(p);
  } finally {
    await producer.disconnect();
  }
  const end = new Map((await admin.fetchTopicOffsets(topic)).map((x) => [x.partition, BigInt(x.high)]));

  const acts = createActivities(env.deps);
  const stored = async () => new Map((await staging.query<{ partition: number; next_offset: string }>(
    'select partition, next_offset from etl.kafka_offsets where consumer_group = $1 and topic = $2', [group, topic])).rows.map((r) => [r.partition, BigInt(r.next_offset)]));
  const t = performance.now();
  let batches = 0;
  try {
    await withDeadline(`consuming ${sent.length} messages`, o.deadlineMs, (async () => {
      for (;;) {
        const at = await stored();
        if ([...end].every(([p, e]) => e === 0n || at.get(p) === e)) return;
        batches++;
        await acts.consumeEventsBatch({ topic, consumerGroup: group, maxMessages: 1000, maxWaitMs: 1000 });
      }
    })());
    report.scenarios.push({ name: `stream: ${sent.length} messages over ${PARTITIONS} partitions`, seconds: seconds(t), outcome: `${batches} batches, offsets at the end`, ok: true });
  } catch (err) {
    report.violations.push(`the stream stopped after ${batches} batches: ${errorText(err)}`);
    report.scenarios.push({ name: 'stream', seconds: seconds(t), outcome: errorText(err), ok: false });
  }

  const { rows: loads } = await staging.query<{ load_id: string }>('select load_id from etl.loads where load_id like $1', [like]);
  const ranges = loads.map((l) => {
    const m = /\/(\d+):(\d+)-(\d+)$/.exec(l.load_id);
    return { loadId: l.load_id, p: Number(m?.[1]), first: BigInt(m?.[2] ?? -1), last: BigInt(m?.[3] ?? -1) };
  });
  const facts = new Map<string, LoadFacts>();
  for (const r of ranges) {
    const { rows } = await staging.query<{ p: number; o: string; ts: string }>(
      `select kafka_partition p, kafka_offset::text o, to_char(ts at time zone 'UTC', 'YYYY-MM-DD') ts from staging.events where load_id = $1`, [r.loadId]);
    facts.set(r.loadId, await loadFacts(staging, r.loadId, rows.map((x) => ({ sref: `${x.p}@${x.o}`, dates: { ts: x.ts } })), (ref) => ref.slice(ref.lastIndexOf('/p') + 2)));
  }
  const records: ReceivedRecord[] = sent.map(({ item, partition, offset }) => {
    const at = `${partition}@${offset}`;
    const range = ranges.find((r) => r.p === partition && BigInt(offset) >= r.first && BigInt(offset) <= r.last);
    return { loadId: range?.loadId ?? `(no load covers ${at})`, qref: at, sref: at, key: item.key, role: item.role, family: item.family, kind: item.kind, expect: item.expect, reason: item.reason, ...(item.date && item.field === 'ts' ? { dates: { ts: item.date } } : {}) };
  });
  const { rows: keys } = await staging.query<{ event_id: string }>('select event_id from staging.events where load_id like $1', [like]);
  reconcile(report, records, facts, new Set(keys.map((k) => k.event_id)));
  report.seconds = seconds(began);
  return {
    report,
    async cleanUp() {
      await closeEventReaders();
      await staging.query('delete from staging.events where load_id like $1', [like]);
      await staging.query('delete from etl.realtime_dirty where load_id like $1', [like]);
      // A realtime loop running against this staging may have picked the marks up: the era's year is the run's own.
      const era = [`${o.era}-01-01T00:00:00Z`, `${o.era + 1}-01-01T00:00:00Z`];
      for (const t of REALTIME_MINUTE_TABLES) {
        await env.deps.analytics.query(`delete from ${t} where minute >= $1 and minute < $2`, era).catch(() => undefined);
      }
      await env.deps.analytics.query('delete from realtime_visible where topic = $1', [topic]).catch(() => undefined);
      await staging.query('delete from etl.kafka_offsets where topic = $1', [topic]);
      await staging.query('delete from etl.alerts where alert_id like $1', [`events/stuck/${group}/%`]);
      await dropLoads(staging, env.deps.s3, env.deps.bucket, loads.map((l) => l.load_id));
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
