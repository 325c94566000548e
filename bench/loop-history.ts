/**
 * History events an hour of the two endless loops (the events stream and the realtime metrics),
 * idle and under load, in both shapes in one run: `batches` (before: an activity per batch or pass,
 * a timer when idle, continue-as-new every few minutes) and `sessions` (now: one supervised long
 * activity that reports hourly). Counts every run of each workflow id (historyLength), over an idle
 * phase and a phase with --rate events/s, and scales each to an hour.
 *   npx tsx bench/loop-history.ts --idle 60 --load 60 --rate 200
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { ensureTopic, eventsProducer } from '../shop/simulator/events';
import { testEnv } from '../test/support/env';
import { cleanUpEventsBench } from './events-cleanup';
import { eventsStreamWorkflow, stopEventsSignal } from '../workflows/events-stream';
import { realtimeMetricsWorkflow, stopRealtimeSignal } from '../workflows/realtime';

/** Events in all runs of a workflow id so far (closed runs and the open one). */
async function historyEvents(client: Client, workflowId: string): Promise<number> {
  let n = 0;
  for await (const w of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) n += Number(w.historyLength ?? 0);
  // Visibility can lag for the open run; describe is exact.
  const open = await client.workflow.getHandle(workflowId).describe();
  let listed = 0;
  for await (const w of client.workflow.list({ query: `WorkflowId = "${workflowId}" AND RunId = "${open.runId}"` })) listed = Number(w.historyLength ?? 0);
  return n - listed + Number(open.historyLength ?? 0);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { idle: { type: 'string', default: '60' }, load: { type: 'string', default: '60' }, rate: { type: 'string', default: '200' } } });
  const [idle, load, rate] = [Number(values.idle), Number(values.load), Number(values.rate)];
  const env = await testEnv('bench-loop-history');
  const tag = `lh${randomUUID().slice(0, 6)}`;
  const rows: Array<Record<string, unknown>> = [];
  const topics: string[] = [];
  const producer = eventsProducer(env.deps.kafka);
  await producer.connect();
  try {
    await env.withWorker(async () => {
      for (const loop of ['batches', 'sessions'] as const) {
        const topic = `bench.loophist.${tag}.${loop}`;
        await ensureTopic(env.deps.kafka, topic, 3);
        const ids = { events: `events/stream/${tag}-${loop}`, realtime: `realtime/metrics/${tag}-${loop}` };
        const events = await env.client.workflow.start(eventsStreamWorkflow, { taskQueue: env.taskQueue, workflowId: ids.events, args: [{ topic, consumerGroup: `${tag}-${loop}`, loop }] });
        const realtime = await env.client.workflow.start(realtimeMetricsWorkflow, { taskQueue: env.taskQueue, workflowId: ids.realtime, args: [{ loop }] });
        await new Promise((r) => setTimeout(r, 5_000)); // both running, their first tasks done
        const count = async () => ({ events: await historyEvents(env.client, ids.events), realtime: await historyEvents(env.client, ids.realtime) });
        const phase = async (name: string, seconds: number, produce: boolean) => {
          const before = await count();
          const began = Date.now();
          let sent = 0;
          while (Date.now() - began < seconds * 1000) {
            if (produce) {
              const owed = Math.floor(((Date.now() - began) / 1000) * rate) - sent;
              if (owed > 0) {
                await producer.send({ topic, messages: Array.from({ length: owed }, (_, k) => ({ partition: (sent + k) % 3, value: JSON.stringify({
                  event_id: `${tag}-${loop}-${sent + k}`, event_name: 'view', user_id: `U${(sent + k) % 50}`, session_id: 'S1', product_id: 'P1', order_id: null, price: null, ts: new Date().toISOString() }) })) });
                sent += owed;
              }
            }
            await new Promise((r) => setTimeout(r, 200));
          }
          const after = await count();
          const perHour = (k: 'events' | 'realtime') => Math.round(((after[k] - before[k]) * 3600) / seconds);
          rows.push({ loop, phase: name, seconds, eventsPerSecondSent: produce ? rate : 0, eventsStreamHistoryPerHour: perHour('events'), realtimeHistoryPerHour: perHour('realtime') });
          console.log(JSON.stringify(rows[rows.length - 1]));
        };
        await phase('idle', idle, false);
        await phase('load', load, true);
        await events.signal(stopEventsSignal);
        await realtime.signal(stopRealtimeSignal);
        await Promise.all([events.result(), realtime.result()]);
        topics.push(topic);
      }
    });
  } finally {
    await producer.disconnect();
    for (const [i, topic] of topics.entries()) await cleanUpEventsBench(env, topic, `${tag}-${['batches', 'sessions'][i]}`, false);
    await env.close();
  }
  console.table(rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
