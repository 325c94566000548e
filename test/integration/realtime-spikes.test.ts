import { deleteTopics } from '../../shop/simulator/testing';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeEventReaders } from '../../activities/events/reader';
import { renderLive, type LiveSnapshot } from '../../cli/live-view';
import { ensureTopic, eventsProducer } from '../../shop/simulator/events';
import { eventsStreamWorkflow, stopEventsSignal } from '../../workflows/events-stream';
import { realtimeMetricsWorkflow, stopRealtimeSignal } from '../../workflows/realtime';
import { testEnv, type TestEnv } from '../support/env';
import { flatStream } from '../../shop/simulator/flat-stream';
import { randomEra } from '../support/realtime';
import { until } from '../support/wait';

const MIN = 60_000;
const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);


interface AlertRow { alert_id: string; event_name: string; minute: Date; last_minute: Date; observed: number; expected: string; peak: number; sent_at: Date | null; attempts: number }

describe('realtime spike alerts (real Kafka, PostgreSQL, Temporal; webhook on loopback)', () => {
  let env: TestEnv;
  let server: Server;
  const received: Array<{ key: string | undefined; status: number; body: Record<string, unknown> }> = [];
  const refusedOnce = new Set<string>();
  const tag = `rs${randomUUID().slice(0, 8)}`;
  // One topic per era: a topic's event-time watermark closes the minutes of its own stream.
  const topics = [`test.realtime.${tag}a`, `test.realtime.${tag}b`];
  const flatEra = randomEra();
  const spikeEra = new Date(flatEra.getTime() + 7 * 86_400_000);

  beforeAll(async () => {
    // The receiver refuses each alert's first POST (503): the outbox must retry, and deliver once.
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const key = req.headers['idempotency-key'] as string | undefined;
        const status = key && !refusedOnce.has(key) ? 503 : 200;
        if (key) refusedOnce.add(key);
        received.push({ key, status, body: JSON.parse(body) as Record<string, unknown> });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    env = await testEnv('realtime-spikes', { ...process.env, ALERT_WEBHOOK_URL: url });
  });
  afterAll(async () => {
    await closeEventReaders();
    // The file's databases are dropped with it; Kafka is shared.
    if (env) await deleteTopics(env.deps.kafka, topics);
    server?.close();
    await env?.close();
  });

  it('a spike of add_to_cart x8 for 3 minutes raises exactly one alert, delivered once; the flat stream raises none', async () => {
    const streams = [flatStream(`${tag}a`, flatEra, 25), flatStream(`${tag}b`, spikeEra, 25, { event: 'add_to_cart', factor: 8, fromMinute: 15, minutes: 3 })];
    const producer = eventsProducer(env.deps.kafka);
    await producer.connect();
    for (const [k, topic] of topics.entries()) {
      await ensureTopic(env.deps.kafka, topic, 3);
      const lines = streams[k] ?? [];
      for (let i = 0; i < lines.length; i += 2000) {
        await producer.send({ topic, acks: -1, messages: lines.slice(i, i + 2000).map((value) => ({ key: /"user_id":"([^"]*)"/.exec(value)?.[1] ?? null, value })) });
      }
    }
    await producer.disconnect();

    const group = `test-${tag}`;
    await env.withWorker(async () => {
      const events = await Promise.all(topics.map((topic) => env.client.workflow.start(eventsStreamWorkflow, {
        taskQueue: env.taskQueue, workflowId: `events/stream/test-${topic}`, args: [{ topic, consumerGroup: group, maxMessages: 1000, maxWaitMs: 300, idleSleepMs: 200 }] })));
      const realtime = await env.client.workflow.start(realtimeMetricsWorkflow, { taskQueue: env.taskQueue, workflowId: `realtime/metrics/test-${tag}`, args: [{ pollMs: 200 }] });
      console.log(`workflow ids: ${events.map((e) => e.workflowId).join(', ')}, ${realtime.workflowId}`);
      // Minutes up to 22 are closed by the data after them (lateness 1 minute); all must be judged.
      const judged = async (era: Date) => (await env.deps.analytics.query(
        'select 1 from realtime_minute where minute >= $1 and minute <= $2 and evaluated_at is not null', [era, new Date(era.getTime() + 22 * MIN)])).rowCount;
      await until('minutes 0..22 of both eras judged', async () => ((await judged(flatEra)) === 23 && (await judged(spikeEra)) === 23 ? true : undefined));
      await until('the alert delivered', async () => ((await env.deps.analytics.query('select 1 from realtime_alerts where minute >= $1 and minute < $2 and sent_at is not null', [spikeEra, new Date(spikeEra.getTime() + 86_400_000)])).rowCount ? true : undefined), 60_000);
      for (const e of events) await e.signal(stopEventsSignal);
      await realtime.signal(stopRealtimeSignal);
      await Promise.all([...events.map((e) => e.result()), realtime.result()]);
    });

    const alerts = async (era: Date) => (await env.deps.analytics.query<AlertRow>(
      'select * from realtime_alerts where minute >= $1 and minute < $2', [era, new Date(era.getTime() + 86_400_000)])).rows;
    expect(await alerts(flatEra)).toEqual([]);
    const raised = await alerts(spikeEra);
    expect(raised).toHaveLength(1);
    const a = raised[0] as AlertRow;
    expect(a).toMatchObject({ event_name: 'add_to_cart', minute: new Date(spikeEra.getTime() + 15 * MIN), last_minute: new Date(spikeEra.getTime() + 17 * MIN), attempts: 2 });
    expect(a.observed).toBeGreaterThan(250);
    expect(Number(a.expected)).toBeGreaterThan(30);
    expect(Number(a.expected)).toBeLessThan(50);
    // Refused once, then accepted once: exactly one 2xx delivery per Idempotency-Key.
    const mine = received.filter((r) => r.key === a.alert_id);
    expect(mine.map((r) => r.status)).toEqual([503, 200]);
    expect(mine[1]?.body).toMatchObject({ alertId: a.alert_id, kind: 'spike', eventName: 'add_to_cart', observed: a.observed });

    // `etl live --json` shows the spike minutes and the alert, read from the same tables.
    const at = new Date(spikeEra.getTime() + 17 * MIN).toISOString();
    const { stdout } = await run(process.execPath, [join(ROOT, 'bin', 'etl.js'), 'live', '--json', '--minutes', '4', '--at', at], { cwd: ROOT });
    const snap = JSON.parse(stdout) as LiveSnapshot;
    expect(snap.at).toBe(at);
    expect(snap.minutes.map((m) => m.minute)).toEqual([17, 16, 15, 14].map((k) => new Date(spikeEra.getTime() + k * MIN).toISOString()));
    expect(snap.minutes[2]?.by_type.add_to_cart).toBe(a.observed);
    expect(snap.minutes[0]?.hour_conversion).not.toBeNull();
    expect(snap.alerts[0]).toMatchObject({ event_name: 'add_to_cart', minute: a.minute.toISOString(), observed: a.observed });
    expect(renderLive(snap).join('\n')).toMatch(/add_to_cart: \d+ vs ~\d+/);
  });
});
