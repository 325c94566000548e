/**
 * Events pipeline throughput, as production runs it: the activities are the worker's own
 * (createActivities, so every range's transaction also runs the realtime hook that marks its minutes
 * dirty), and event times are spread like live traffic's: in production order over the last
 * --minutes, with 0.5 % held back 1-20 min (out of order) and 0.2 % 1.5-6 h (late), the generator's
 * default rates. --events messages (3 partitions, keyed by user) are produced first to a topic of
 * their own, then consumed to the end (a) by consumeEventsBatch in a loop and (b) by
 * eventsStreamWorkflow on an in-process worker, each from offset 0 with its own group and from the
 * same empty state. --baseline adds (c) the loop without the hook, so its cost is a ratio of one run;
 * --rounds repeats the loops in alternation and reports medians.
 * --sustained skips the loops and the batches workflow: the shipped (sessions) workflow reads the whole
 * backlog, and its rate is sampled every 5 s and reported per minute, the first and last full minute
 * side by side (issue 12 P4: 50k events/s for at least 5 minutes needs --events of 15M or more).
 *   npx tsx bench/events-throughput.ts --events 200000 --batch 20000 [--minutes 10] [--baseline --rounds 3]
 *   npx tsx bench/events-throughput.ts --events 16000000 --batch 20000 --sustained
 * Event times are in a private era (bench/realtime-era.ts); everything it writes is deleted at the end.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../activities';
import { createEventsActivities, type ConsumeEventsBatchOutput } from '../activities/events';
import { ensureTopic, eventsProducer } from '../shop/simulator/events';
import { testEnv } from '../test/support/env';
import { cleanUpEventsBench } from './events-cleanup';
import { ERA_MS, settleBenchTables } from './realtime-era';
import { eventsStreamWorkflow, stopEventsSignal } from '../workflows/events-stream';

const MIN = 60_000;
const NAMES = ['view', 'view', 'view', 'view', 'view', 'view', 'add_to_cart', 'add_to_cart', 'wishlist', 'order'];

/** The n-th of `total` events stamped in [end - span, end]; `u` in [0, 1) decides if it is held back. */
function eventTime(n: number, total: number, end: number, span: number, u: number, v: number): { ts: number; held: 'late' | 'outOfOrder' | null } {
  const ts = end - span + Math.floor((n / total) * span);
  if (u < 0.002) return { ts: ts - Math.floor(90 * MIN + v * 270 * MIN), held: 'late' };
  if (u < 0.007) return { ts: ts - Math.floor(MIN + v * 19 * MIN), held: 'outOfOrder' };
  return { ts, held: null };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    events: { type: 'string', default: '200000' }, batch: { type: 'string', default: '20000' }, minutes: { type: 'string', default: '10' },
    baseline: { type: 'boolean', default: false }, rounds: { type: 'string', default: '1' }, sustained: { type: 'boolean', default: false },
  } });
  const total = Number(values.events);
  const maxMessages = Number(values.batch);
  const env = await testEnv('bench-events');
  const tag = `bench${randomUUID().slice(0, 6)}`;
  const topic = `bench.events.${tag}`;
  const { staging, kafka } = env.deps;
  const stored = async (group: string) => Number((await staging.query<{ n: string }>('select coalesce(sum(next_offset), 0) n from etl.kafka_offsets where consumer_group = $1 and topic = $2', [group, topic])).rows[0]?.n);
  // Each pass starts from the same state: no events, loads or dirty marks (a load id names the range, not the group).
  const reset = async () => {
    await staging.query('delete from staging.events where event_id like $1', [`${tag}-%`]);
    for (const t of ['etl.loads', 'etl.realtime_dirty']) await staging.query(`delete from ${t} where load_id like $1`, [`events/${topic}/%`]);
  };
  try {
    await settleBenchTables(staging, env.deps.analytics);
    await ensureTopic(kafka, topic, 3);
    const producer = eventsProducer(kafka);
    await producer.connect();
    let seed = 7; // mulberry32: seeded, so every run plants the same held-back events
    const rnd = () => {
      let x = (seed = (seed + 0x6d2b79f5) | 0);
      x = Math.imul(x ^ (x >>> 15), x | 1);
      x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
      return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
    };
    const end = Date.now() + ERA_MS;
    const held = { late: 0, outOfOrder: 0 };
    const minutes = new Set<number>();
    let t = performance.now();
    for (let i = 0; i < total; i += 5000) {
      const messages = Array.from({ length: Math.min(5000, total - i) }, (_, k) => {
        const n = i + k;
        const user = `U${(n * 7919) % 5000}`;
        const name = NAMES[n % NAMES.length] as string;
        const at = eventTime(n, total, end, Number(values.minutes) * MIN, rnd(), rnd());
        if (at.held) held[at.held]++;
        minutes.add(Math.floor(at.ts / MIN));
        const value = { event_id: `${tag}-${n}`, event_name: name, user_id: user, session_id: `S${n % 20000}`, product_id: `P${n % 300}`,
          order_id: name === 'order' ? `${tag}-O${n}` : null, price: name === 'view' ? null : ((n % 9000) / 100 + 1).toFixed(2), ts: new Date(at.ts).toISOString() };
        return { key: user, value: JSON.stringify(value) };
      });
      await producer.send({ topic, acks: -1, messages });
    }
    await producer.disconnect();
    console.log(JSON.stringify({ produced: total, seconds: +((performance.now() - t) / 1000).toFixed(2), spanMinutes: Number(values.minutes), ...held, distinctMinutes: minutes.size }));

    if (values.sustained) {
      await sustained();
      return;
    }
    const production = createActivities(env.deps); // what `etl worker` registers: the realtime hook is on
    const results: Record<string, number[]> = {};
    const loop = async (mode: string, round: number, consume: typeof production.consumeEventsBatch) => {
      const group = `${tag}-${mode.replace(/\W+/g, '-')}-${round}`;
      const mock = new MockActivityEnvironment();
      t = performance.now();
      let batches = 0;
      let loaded = 0;
      while ((await stored(group)) < total) {
        const out = (await mock.run(consume, { topic, consumerGroup: group, maxMessages, maxWaitMs: 1000 })) as ConsumeEventsBatchOutput;
        batches++;
        loaded += out.loaded;
      }
      const s = (performance.now() - t) / 1000;
      if (loaded !== total) throw new Error(`${mode}: loaded ${loaded} of ${total} events`);
      (results[mode] ??= []).push(Math.round(total / s));
      // The hook's work, shown: minutes it marked dirty (0 without it).
      const marks = Number((await staging.query<{ n: string }>('select count(*) n from etl.realtime_dirty where load_id like $1', [`events/${topic}/%`])).rows[0]?.n);
      console.log(JSON.stringify({ mode, round, events: total, loaded, batches, dirtyMarks: marks, seconds: +s.toFixed(2), eventsPerSecond: Math.round(total / s) }));
      await reset();
    };
    // Rounds alternate the loops, first one then the other first, so neither always pays for warming up.
    const loops: Array<[string, typeof production.consumeEventsBatch]> = [['activity loop', production.consumeEventsBatch]];
    if (values.baseline) loops.unshift(['activity loop, no hook', createEventsActivities(env.deps).consumeEventsBatch]);
    for (let round = 1; round <= Number(values.rounds); round++) {
      for (const [mode, consume] of round % 2 ? loops : [...loops].reverse()) await loop(mode, round, consume);
    }

    // The workflow, in both loop shapes (each its own consumer group, from offset 0): `batches` runs an
    // activity per batch (before), `sessions` the supervised long activity.
    for (const loop of ['batches', 'sessions'] as const) {
      await env.withWorker(async () => {
        t = performance.now(); // the worker's start (bundling the workflows) is not part of the figure
        const group = `${tag}-workflow-${loop}`;
        const h = await env.client.workflow.start(eventsStreamWorkflow, { taskQueue: env.taskQueue, workflowId: `events/stream/${tag}-${loop}`, args: [{ topic, consumerGroup: group, maxMessages, maxWaitMs: 1000, loop }] });
        while ((await stored(group)) < total) await new Promise((r) => setTimeout(r, 50));
        const s = (performance.now() - t) / 1000;
        await h.signal(stopEventsSignal);
        await h.result();
        results[`workflow ${loop}`] = [Math.round(total / s)];
        console.log(JSON.stringify({ mode: `workflow, ${loop}`, events: total, seconds: +s.toFixed(2), eventsPerSecond: Math.round(total / s) }));
      });
    }
    const median = (xs: number[] = []) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const [loopRate, bare, flow, batches] = [median(results['activity loop']), median(results['activity loop, no hook']), median(results['workflow sessions']), median(results['workflow batches'])];
    const ratio = (a?: number, b?: number) => (a && b ? +(a / b).toFixed(2) : undefined);
    console.log(JSON.stringify({ medianEventsPerSecond: { loop: loopRate, loopNoHook: bare, workflow: flow, workflowBatches: batches }, workflowVsLoop: ratio(flow, loopRate), sessionsVsBatches: ratio(flow, batches), hookVsNoHook: ratio(loopRate, bare) }));
  } finally {
    await cleanUpEventsBench(env, topic, tag);
  }

  /** The shipped workflow over the whole backlog, its stored offsets sampled every 5 s. */
  async function sustained(): Promise<void> {
    await env.withWorker(async () => {
      const group = `${tag}-workflow-sustained`;
      const h = await env.client.workflow.start(eventsStreamWorkflow, { taskQueue: env.taskQueue, workflowId: `events/stream/${tag}-sustained`, args: [{ topic, consumerGroup: group, maxMessages }] });
      const began = performance.now();
      const samples: Array<{ s: number; n: number }> = [{ s: 0, n: 0 }];
      for (let n = 0; n < total;) {
        await new Promise((r) => setTimeout(r, 5000));
        n = await stored(group);
        samples.push({ s: (performance.now() - began) / 1000, n });
        if (samples.length % 12 === 1) console.log(JSON.stringify({ seconds: Math.round(samples[samples.length - 1]?.s ?? 0), stored: n, of: total }));
      }
      await h.signal(stopEventsSignal);
      await h.result();
      const staged = Number((await staging.query<{ n: string }>('select count(*) n from staging.events where event_id like $1', [`${tag}-%`])).rows[0]?.n);
      if (staged !== total) throw new Error(`staged ${staged} of ${total} events`);
      const seconds = samples[samples.length - 1]?.s ?? 0;
      // Events stored in each full minute after the first message was (interpolated between samples).
      const at = (t: number) => {
        const i = samples.findIndex((x) => x.s >= t);
        if (i <= 0) return samples[Math.max(0, i)]?.n ?? 0;
        const [a, b] = [samples[i - 1] as { s: number; n: number }, samples[i] as { s: number; n: number }];
        return a.n + ((b.n - a.n) * (t - a.s)) / (b.s - a.s);
      };
      const minutes = Array.from({ length: Math.floor(seconds / 60) }, (_, m) => Math.round((at((m + 1) * 60) - at(m * 60)) / 60));
      console.log(JSON.stringify({
        mode: 'workflow, sessions, sustained', events: total, seconds: +seconds.toFixed(1), eventsPerSecond: Math.round(total / seconds),
        perMinuteEventsPerSecond: minutes, firstMinute: minutes[0], lastFullMinute: minutes[minutes.length - 1],
        fullMinutes: minutes.length, goal: { eventsPerSecond: 50_000, minutes: 5 },
      }));
    });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
