/**
 * Events latency under a steady rate: a producer sends --rate events/s for --seconds to a topic of
 * its own while eventsStreamWorkflow (in-process worker) consumes it. Latency of an event = when
 * it became visible in staging.events minus when it was sent (its ts). Visibility is observed by
 * polling etl.loads every 50 ms (a load's row commits with its events), so it is accurate to 50 ms.
 * Prints p50/p95/max.
 *   npx tsx bench/events-latency.ts --rate 5000 --seconds 30 --wait 500
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ensureTopic, eventsProducer } from '../shop/simulator/events';
import { testEnv } from '../test/support/env';
import { cleanUpEventsBench } from './events-cleanup';
import { eventsStreamWorkflow, stopEventsSignal } from '../workflows/events-stream';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rate: { type: 'string', default: '5000' }, seconds: { type: 'string', default: '30' }, wait: { type: 'string', default: '500' } } });
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const env = await testEnv('bench-events-latency');
  const tag = `lat${randomUUID().slice(0, 6)}`;
  const topic = `bench.events.${tag}`;
  const { staging, kafka } = env.deps;
  try {
    await ensureTopic(kafka, topic, 3);
    const producer = eventsProducer(kafka);
    await producer.connect();
    await env.withWorker(async () => {
      const h = await env.client.workflow.start(eventsStreamWorkflow, {
        taskQueue: env.taskQueue, workflowId: `events/stream/${tag}`, args: [{ topic, consumerGroup: tag, maxWaitMs: Number(values.wait), idleSleepMs: 100 }],
      });
      const seenAt = new Map<string, number>();
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const { rows } = await staging.query<{ load_id: string }>(`select load_id from etl.loads where load_id like $1 and status = 'succeeded'`, [`events/${topic}/%`]);
          const now = Date.now();
          for (const r of rows) if (!seenAt.has(r.load_id)) seenAt.set(r.load_id, now);
          await new Promise((res) => setTimeout(res, 50));
        }
      })();
      const began = Date.now();
      let sent = 0;
      // Ticks of 100 ms: each sends what the rate owes by now.
      while (Date.now() - began < seconds * 1000) {
        const due = Math.floor(((Date.now() - began) / 1000) * rate);
        const ts = new Date().toISOString();
        const messages = Array.from({ length: due - sent }, (_, k) => {
          const n = sent + k;
          return { key: `U${n % 5000}`, value: JSON.stringify({ event_id: `${tag}-${n}`, event_name: 'view', user_id: `U${n % 5000}`, session_id: `S${n % 9000}`, product_id: `P${n % 300}`, order_id: null, price: null, ts }) };
        });
        if (messages.length) await producer.send({ topic, acks: -1, messages });
        sent = due;
        await new Promise((r) => setTimeout(r, 100));
      }
      await producer.disconnect();
      for (;;) {
        const { rows } = await staging.query<{ n: string }>('select count(*) n from staging.events where event_id like $1', [`${tag}-%`]);
        if (Number(rows[0]?.n) >= sent) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise((res) => setTimeout(res, 200));
      polling = false;
      await poller;
      await h.signal(stopEventsSignal);
      const r = await h.result();
      const { rows } = await staging.query<{ load_id: string; ts: Date }>('select load_id, ts from staging.events where event_id like $1', [`${tag}-%`]);
      const ms = rows.map((e) => (seenAt.get(e.load_id) ?? NaN) - e.ts.getTime()).sort((a, b) => a - b);
      const at = (q: number) => Math.round(ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? NaN);
      console.log(JSON.stringify({ rate, seconds, sent, visible: ms.length, batches: r.batches, latencyMs: { p50: at(0.5), p95: at(0.95), max: at(1) } }));
    });
  } finally {
    await cleanUpEventsBench(env, topic, tag);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
