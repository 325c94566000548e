/**
 * Events pipeline throughput: --events messages are produced first to a topic of their own
 * (3 partitions, keyed by user), then consumed to the end (a) by calling consumeEventsBatch in a
 * loop, and (b) by eventsStreamWorkflow on an in-process worker, each from offset 0 with its own
 * group. Prints events/s of each. Everything it writes is deleted at the end.
 *   npx tsx bench/events-throughput.ts --events 200000 --batch 20000
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createEventsActivities, type ConsumeEventsBatchOutput } from '../activities/events-batch';
import { ensureTopic, eventsProducer } from '../shop/simulator/events';
import { testEnv } from '../test/support/env';
import { cleanUpEventsBench } from './events-cleanup';
import { eventsStreamWorkflow, stopEventsSignal } from '../workflows/events-stream';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { events: { type: 'string', default: '200000' }, batch: { type: 'string', default: '20000' } } });
  const total = Number(values.events);
  const maxMessages = Number(values.batch);
  const env = await testEnv('bench-events');
  const tag = `bench${randomUUID().slice(0, 6)}`;
  const topic = `bench.events.${tag}`;
  const groups = [`${tag}-activity`, `${tag}-workflow`];
  const { staging, kafka } = env.deps;
  const stored = async (group: string) => Number((await staging.query<{ n: string }>('select coalesce(sum(next_offset), 0) n from etl.kafka_offsets where consumer_group = $1 and topic = $2', [group, topic])).rows[0]?.n);
  try {
    await ensureTopic(kafka, topic, 3);
    const producer = eventsProducer(kafka);
    await producer.connect();
    const ts = new Date().toISOString();
    let t = performance.now();
    for (let i = 0; i < total; i += 5000) {
      const messages = Array.from({ length: Math.min(5000, total - i) }, (_, k) => {
        const n = i + k;
        const user = `U${n % 5000}`;
        return { key: user, value: JSON.stringify({ event_id: `${tag}-${n}`, event_name: 'view', user_id: user, session_id: `S${n % 20000}`, product_id: `P${n % 300}`, order_id: null, price: '12.50', ts }) };
      });
      await producer.send({ topic, acks: -1, messages });
    }
    await producer.disconnect();
    console.log(JSON.stringify({ produced: total, seconds: +((performance.now() - t) / 1000).toFixed(2) }));

    const acts = createEventsActivities(env.deps);
    const mock = new MockActivityEnvironment();
    t = performance.now();
    let batches = 0;
    let loaded = 0;
    while ((await stored(groups[0] as string)) < total) {
      const out = (await mock.run(acts.consumeEventsBatch, { topic, consumerGroup: groups[0], maxMessages, maxWaitMs: 1000 })) as ConsumeEventsBatchOutput;
      batches++;
      loaded += out.loaded;
    }
    let s = (performance.now() - t) / 1000;
    console.log(JSON.stringify({ mode: 'activity loop', events: total, loaded, batches, seconds: +s.toFixed(2), eventsPerSecond: Math.round(total / s) }));
    // The second pass starts from the same state: no events, no loads (a load id names the range, not the group).
    await staging.query('delete from staging.events where event_id like $1', [`${tag}-%`]);
    await staging.query('delete from etl.loads where load_id like $1', [`events/${topic}/%`]);

    await env.withWorker(async () => {
      t = performance.now(); // the worker's start (bundling the workflows) is not part of the figure
      const h = await env.client.workflow.start(eventsStreamWorkflow, { taskQueue: env.taskQueue, workflowId: `events/stream/${tag}`, args: [{ topic, consumerGroup: groups[1], maxMessages, maxWaitMs: 1000 }] });
      while ((await stored(groups[1] as string)) < total) await new Promise((r) => setTimeout(r, 50));
      s = (performance.now() - t) / 1000;
      await h.signal(stopEventsSignal);
      const r = await h.result();
      console.log(JSON.stringify({ mode: 'workflow', events: total, loaded: r.loaded, batches: r.batches, seconds: +s.toFixed(2), eventsPerSecond: Math.round(total / s) }));
    });
  } finally {
    await cleanUpEventsBench(env, topic, tag);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
