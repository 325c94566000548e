/**
 * A producer's duplicate delivery for the chaos runs: a range of one partition that the stream has
 * (in the main) already read, produced again onto the same partition as it was (key, value,
 * headers, timestamp).
 * The events pipeline must count its valid events as duplicates, quarantine its bad ones again under
 * their new offsets, and stage nothing twice. Plus the wait that says a stream has read a topic to
 * its end.
 */
import type { IHeaders, Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { eventsProducer } from '../../shop/simulator/events';

export interface Reproduced {
  partition: number;
  /** The original range, [from, to). */
  from: number;
  to: number;
  /** Where the copies landed, [at, at + count). */
  at: number;
  count: number;
}

interface RawMessage { offset: number; key: Buffer | null; value: Buffer | null; headers?: IHeaders; timestamp: string }

/** The messages of one partition in [from, to), read by a throwaway consumer group. */
async function readRange(kafka: Kafka, topic: string, partition: number, from: number, to: number, highs: Map<number, number>): Promise<RawMessage[]> {
  const consumer = kafka.consumer({ groupId: `chaos-reread-${topic}-${partition}-${from}-${process.pid}` });
  const out: RawMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${out.length} of ${to - from} messages of ${topic}[${partition}] from ${from} in 60 s`)), 60_000);
      // Every other partition starts at its end: only this one's range is fetched.
      consumer.on(consumer.events.GROUP_JOIN, () => {
        for (const [p, high] of highs) consumer.seek({ topic, partition: p, offset: String(p === partition ? from : high) });
      });
      consumer.run({
        eachMessage: async ({ partition: p, message }) => {
          const offset = Number(message.offset);
          if (p !== partition || offset < from || offset >= to || out.some((m) => m.offset === offset)) return;
          out.push({ offset, key: message.key, value: message.value, headers: message.headers, timestamp: message.timestamp });
          if (out.length === to - from) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out.sort((a, b) => a.offset - b.offset);
}

async function highWatermarks(kafka: Kafka, topic: string): Promise<Map<number, { low: number; high: number }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, { low: Number(o.low), high: Number(o.high) }]));
  } finally {
    await admin.disconnect();
  }
}

/** The latest quarantined offset per partition of the topic: the stream's own committed bad events. */
export async function committedBadEvents(staging: Pool, topic: string): Promise<Map<number, number>> {
  const { rows } = await staging.query<{ partition: number; offset: string }>(
    `select split_part(split_part(record_ref, '/p', 2), '@', 1)::int as partition, max(split_part(record_ref, '@', 2)::bigint) as offset
     from etl.quarantine where source = 'events' and starts_with(record_ref, $1 || '/p') and record_ref ~ '/p[0-9]+@[0-9]+$' group by 1`, [topic]);
  return new Map(rows.map((r) => [r.partition, Number(r.offset)]));
}

/**
 * Produces again up to `count` messages of one partition, the ones around the latest bad event the
 * consumer group has committed there, so that the copies hold valid events and a bad one. The
 * partition is the `pick`-th of those with such an event; when none has one yet, the `pick`-th
 * non-empty partition, and its last committed messages (or its first ones, before the group
 * committed any). Nothing else may produce to the topic meanwhile: the copies are found at the old
 * end of the partition. Not to be retried: a second call produces a second set of copies.
 */
export async function produceAgain(kafka: Kafka, staging: Pool, topic: string, group: string, pick: number, count = 300): Promise<Reproduced> {
  const before = await highWatermarks(kafka, topic);
  const { rows: offsets } = await staging.query<{ partition: number; next_offset: string }>(
    'select partition, next_offset from etl.kafka_offsets where consumer_group = $1 and topic = $2', [group, topic]);
  const stored = new Map(offsets.map((r) => [r.partition, Number(r.next_offset)]));
  const bad = await committedBadEvents(staging, topic);
  const nonEmpty = [...before].filter(([, o]) => o.high > o.low).sort((a, b) => a[0] - b[0]);
  const withBad = nonEmpty.filter(([p]) => (bad.get(p) ?? Infinity) < (stored.get(p) ?? 0));
  const among = withBad.length > 0 ? withBad : nonEmpty;
  const chosen = among[pick % Math.max(1, among.length)];
  if (!chosen) throw new Error(`${topic} has no messages to produce again`);
  const [partition, { low, high }] = chosen;
  const committed = Math.min(stored.get(partition) ?? low, high);
  const badAt = bad.get(partition);
  const around = badAt !== undefined && badAt < committed ? Math.min(committed, badAt + Math.floor(count / 2) + 1) : committed;
  const to = Math.max(around, Math.min(low + count, high));
  const from = Math.max(low, to - count);
  const messages = await readRange(kafka, topic, partition, from, to, new Map([...before].map(([p, o]) => [p, o.high])));
  const producer = eventsProducer(kafka);
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ partition, key: m.key, value: m.value, headers: m.headers, timestamp: m.timestamp })) });
  } finally {
    await producer.disconnect();
  }
  const after = await highWatermarks(kafka, topic);
  const landed = (after.get(partition)?.high ?? high) - high;
  if (landed !== messages.length) throw new Error(`produced ${messages.length} messages again onto ${topic}[${partition}], but its end moved by ${landed}`);
  return { partition, from, to, at: high, count: messages.length };
}

/** Whether the consumer group's stored offsets have reached the end of every partition of the topic. */
export async function readToEnd(kafka: Kafka, staging: Pool, topic: string, group: string): Promise<{ done: boolean; behind: number }> {
  const ends = await highWatermarks(kafka, topic);
  const { rows } = await staging.query<{ partition: number; next_offset: string }>(
    'select partition, next_offset from etl.kafka_offsets where consumer_group = $1 and topic = $2', [group, topic]);
  const stored = new Map(rows.map((r) => [r.partition, Number(r.next_offset)]));
  let behind = 0;
  for (const [p, o] of ends) behind += Math.max(0, o.high - (stored.get(p) ?? o.low));
  return { done: behind === 0, behind };
}
