/**
 * The Kafka client, chosen by measurement (issue 12): kafkajs (what the pipeline uses) against
 * @platformatic/kafka (pure JS, maintained, speaks Kafka 4), reading the same topic from the start
 * on the project's own broker. --messages synthetic shop events (the events bench's shape, about
 * 250 bytes, keyed by user) are produced to a topic of 3 partitions; then, in --rounds rounds of
 * alternation, each client reads them all with a fresh group and no commits:
 * - kafkajs with the options of activities/events/reader.ts (4 MiB per partition, 200 ms max wait);
 * - @platformatic/kafka's consume() stream from the earliest offsets;
 * - and, for scale, the work the pipeline does per message besides the COPY: validateEvent
 *   (JSON.parse and the contract's rules) over the same values, no client involved.
 * A client's rate is counted from its first message to its last (the group join is reported apart).
 *   npm install --no-save @platformatic/kafka@1.35.0
 *   npx tsx bench/kafka-clients.ts --messages 500000 --rounds 3
 * @platformatic/kafka is not a dependency of the project (kafkajs won this comparison, README), so it
 * is installed for the run only; 1.35 is the last line whose own engines admit Node 20 (2.x needs 22).
 * The topic is deleted at the end.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { validateEvent } from '../activities/events/validation';
import { loadConfig } from '../config';
import { makeKafka } from '../lib/clients';
import { ensureTopic, eventsProducer } from '../shop/simulator/events';
import { deleteTopics } from '../shop/simulator/testing';

const NAMES = ['view', 'view', 'view', 'view', 'view', 'view', 'add_to_cart', 'add_to_cart', 'wishlist', 'order'];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

interface Pass { joinSeconds: number; readSeconds: number; messages: number; bytes: number }

/** The part of @platformatic/kafka 1.x the bench uses (loaded at run time: it is not a dependency). */
interface PlatformaticKafka {
  Consumer: new (o: Record<string, unknown>) => {
    consume(o: { topics: string[]; mode: string; autocommit: boolean }): Promise<AsyncIterable<{ value?: unknown }> & { close(): Promise<void> }>;
    close(force?: boolean): Promise<void>;
  };
}

async function loadPlatformatic(): Promise<PlatformaticKafka> {
  const name = '@platformatic/kafka';
  try {
    return (await import(name)) as PlatformaticKafka;
  } catch {
    throw new Error(`${name} is not installed: run \`npm install --no-save @platformatic/kafka@1.35.0\` first (it is not a dependency of the project)`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { messages: { type: 'string', default: '500000' }, rounds: { type: 'string', default: '3' } } });
  const total = Number(values.messages);
  const config = loadConfig();
  const kafka = makeKafka(config, 'bench-kafka-clients');
  const tag = `bench${randomUUID().slice(0, 6)}`;
  const topic = `bench.kafka-clients.${tag}`;
  try {
    await ensureTopic(kafka, topic, 3);
    const producer = eventsProducer(kafka);
    await producer.connect();
    let t = performance.now();
    for (let i = 0; i < total; i += 5000) {
      const messages = Array.from({ length: Math.min(5000, total - i) }, (_, k) => {
        const n = i + k;
        const user = `U${(n * 7919) % 5000}`;
        const name = NAMES[n % NAMES.length] as string;
        const value = { event_id: `${tag}-${n}`, event_name: name, user_id: user, session_id: `S${n % 20000}`, product_id: `P${n % 300}`,
          order_id: name === 'order' ? `${tag}-O${n}` : null, price: name === 'view' ? null : ((n % 9000) / 100 + 1).toFixed(2), ts: new Date(Date.UTC(2024, 2, 1) + n * 10).toISOString() };
        return { key: user, value: JSON.stringify(value) };
      });
      await producer.send({ topic, acks: -1, messages });
    }
    await producer.disconnect();
    console.log(JSON.stringify({ produced: total, seconds: +((performance.now() - t) / 1000).toFixed(2) }));

    const values_: Buffer[] = [];
    const kafkajs = async (round: number, keep: boolean): Promise<Pass> => {
      const consumer = kafka.consumer({ groupId: `${tag}-kafkajs-${round}`, maxBytesPerPartition: 4 << 20, maxWaitTimeInMs: 200, sessionTimeout: 30_000 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const start = performance.now();
      let first = 0;
      let n = 0;
      let bytes = 0;
      await new Promise<void>((resolve, reject) => {
        consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (n === 0) first = performance.now();
            for (const m of batch.messages) {
              bytes += m.value?.length ?? 0;
              if (keep && m.value) values_.push(m.value);
            }
            n += batch.messages.length;
            if (n >= total) resolve();
          },
        }).catch(reject);
      });
      const end = performance.now();
      await consumer.disconnect();
      return { joinSeconds: (first - start) / 1000, readSeconds: (end - first) / 1000, messages: n, bytes };
    };
    const { Consumer: PlatformaticConsumer } = await loadPlatformatic();
    const platformatic = async (round: number): Promise<Pass> => {
      const consumer = new PlatformaticConsumer({ groupId: `${tag}-platformatic-${round}`, clientId: 'bench-kafka-clients', bootstrapBrokers: config.KAFKA_BROKERS, maxBytes: 4 << 20, maxWaitTime: 200, sessionTimeout: 30_000 });
      const start = performance.now();
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
      let first = 0;
      let n = 0;
      let bytes = 0;
      for await (const m of stream) {
        if (n === 0) first = performance.now();
        bytes += (m.value as Buffer | undefined)?.length ?? 0;
        if (++n >= total) break;
      }
      const end = performance.now();
      await stream.close();
      await consumer.close(true);
      return { joinSeconds: (first - start) / 1000, readSeconds: (end - first) / 1000, messages: n, bytes };
    };

    const rates: Record<string, number[]> = { kafkajs: [], platformatic: [], validateEvent: [] };
    const joins: Record<string, number[]> = { kafkajs: [], platformatic: [] };
    for (let round = 1; round <= Number(values.rounds); round++) {
      const order = round % 2 ? (['kafkajs', 'platformatic'] as const) : (['platformatic', 'kafkajs'] as const);
      for (const client of order) {
        const pass = client === 'kafkajs' ? await kafkajs(round, values_.length === 0) : await platformatic(round);
        if (pass.messages < total) throw new Error(`${client} read ${pass.messages} of ${total}`);
        rates[client]?.push(Math.round(total / pass.readSeconds));
        joins[client]?.push(pass.joinSeconds);
        console.log(JSON.stringify({ round, client, messages: pass.messages, mib: +(pass.bytes / 2 ** 20).toFixed(1), joinSeconds: +pass.joinSeconds.toFixed(2), readSeconds: +pass.readSeconds.toFixed(2), messagesPerSecond: Math.round(total / pass.readSeconds) }));
      }
      t = performance.now();
      let ok = 0;
      for (const v of values_) if (validateEvent(v).ok) ok++;
      const s = (performance.now() - t) / 1000;
      if (ok !== total) throw new Error(`validateEvent accepted ${ok} of ${total}`);
      rates.validateEvent?.push(Math.round(total / s));
      console.log(JSON.stringify({ round, work: 'validateEvent', messages: total, seconds: +s.toFixed(2), messagesPerSecond: Math.round(total / s) }));
    }
    const m = Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, median(v)])) as Record<'kafkajs' | 'platformatic' | 'validateEvent', number>;
    console.log(JSON.stringify({
      messages: total, rounds: Number(values.rounds), medianMessagesPerSecond: m,
      medianJoinSeconds: { kafkajs: +median(joins.kafkajs ?? []).toFixed(2), platformatic: +median(joins.platformatic ?? []).toFixed(2) },
      platformaticVsKafkajs: +(m.platformatic / m.kafkajs).toFixed(2),
    }));
  } finally {
    await deleteTopics(kafka, [topic]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
