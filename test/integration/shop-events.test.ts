/** Events to Kafka: a generated dataset in full, a timed replay, live generation and a spike. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { makeKafka } from '../../lib/clients';
import { generateDataset } from '../../shop/generator';
import { liveClock, simClock } from '../../shop/simulator/clock';
import { ensureTopic, eventsProducer, produceEvents } from '../../shop/simulator/events';
import { runSpike } from '../../shop/simulator/spike';
import { startShop } from '../../shop/simulator/start-shop';
import { consumeAll, deleteTopics } from '../../shop/simulator/testing';
import { consumeTimed, replaySchedule } from '../support/replay-timing';
import { until } from '../support/wait';

const FIXTURE = join(__dirname, '..', 'fixtures', 'dataset-small');
const config = loadConfig();
const kafka = makeKafka(config, 'shop-events-test');
const id = randomUUID().slice(0, 8);
const topics: string[] = [];

async function freshTopic(name: string): Promise<string> {
  const topic = `test.shop-events.${id}.${name}`;
  await ensureTopic(kafka, topic, 3);
  topics.push(topic);
  return topic;
}

afterAll(() => deleteTopics(kafka, topics));

const ids = (values: string[]) => values.map((v) => (JSON.parse(v) as { event_id?: string }).event_id ?? '?').sort();

describe('events to Kafka', () => {
  it('sends every event of a generated dataset, duplicates included, as fast as possible', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shop-gen-'));
    await generateDataset({ seed: 5, start: '2024-03-01', days: 1, scale: 0.1, dirt: 'default', out: dir });
    const lines = readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n').filter((l) => l.trim());
    const topic = await freshTopic('generated');
    const producer = eventsProducer(kafka);
    await producer.connect();
    const r = await produceEvents({ producer, topic, dataDir: dir });
    await producer.disconnect();
    expect(r.sent).toBe(lines.length);
    console.log(`events: ${r.sent} in ${r.seconds.toFixed(2)} s = ${r.eventsPerSecond}/s`);
    const got = await consumeAll(kafka, topic, lines.length);
    expect(ids(got.map((m) => m.value))).toEqual(ids(lines));
    // The same user always lands on the same partition: keyed by user_id.
    const partitionOf = new Map<string, number>();
    for (const m of got) if (m.key) expect(partitionOf.get(m.key) ?? partitionOf.set(m.key, m.partition).get(m.key)).toBe(m.partition);
  });

  it('replays at the events\' own timestamps, scaled by the speed factor', async () => {
    const topic = await freshTopic('timed');
    const lines = readFileSync(join(FIXTURE, 'events.jsonl'), 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
    // The fixture's events span 10:00 to 23:00; at 40000x that is 1.17 s.
    const from = Date.parse('2024-01-01T10:00:00Z');
    const speed = 40_000;
    const schedule = replaySchedule(lines, from).map((l) => ({ ...l, dueMs: l.dueMs / speed }));
    const span = Math.max(...schedule.map((l) => l.dueMs)) / 1000;
    expect(span).toBeCloseTo(1.17, 2);
    const producer = eventsProducer(kafka);
    await producer.connect();
    const wallStart = Date.now();
    const r = await produceEvents({ producer, topic, dataDir: FIXTURE, clock: simClock(from, speed, wallStart) });
    await producer.disconnect();
    expect(r.sent).toBe(lines.length);
    // The whole replay lasts the span of its timestamps, and not much longer.
    expect(r.seconds).toBeGreaterThanOrEqual(span - 0.01);
    expect(r.seconds).toBeLessThan(span + 1);
    // The spacing: each event went out at its own time on the clock, never before it, at most LATE_MS after.
    const LATE_MS = 500;
    const got = await consumeTimed(kafka, topic, lines.length);
    const sentMs = (value: string) => got.filter((m) => m.value === value).map((m) => m.timestamp - wallStart).sort((x, y) => x - y);
    const offTime = [...new Set(lines)].flatMap((value) => {
      const dues = schedule.filter((l) => l.value === value).map((l) => l.dueMs).sort((x, y) => x - y);
      const sent = sentMs(value);
      expect(sent, value).toHaveLength(dues.length);
      return dues.map((due, i) => ({ event: value.slice(0, 20), due: Math.round(due), sent: sent[i]! })).filter((x) => x.sent < x.due - 2 || x.sent > x.due + LATE_MS);
    });
    expect(offTime).toEqual([]);
  });

  it('live mode keeps producing new orders and events', async () => {
    const topic = await freshTopic('live');
    const shop = await startShop({
      config, dataDir: FIXTURE, api: { port: 0 }, database: false, drops: false, kafka: { kafka, topic }, clock: liveClock(),
      live: { seed: 3, ordersPerMinute: 600, eventsPerMinute: 3000, catalogueChangesPerMinute: 0, tickMs: 200, compress: 5000 },
    });
    try {
      await shop.replayed;
      const before = shop.index.size;
      // Polled up to a deadline: new versions, events, and a new order that has moved on to paid.
      const recent = async () => {
        const res = await fetch(`${shop.apiUrl}/orders?limit=1000&updated_since=${new Date(Date.now() - 60_000).toISOString()}`, { headers: { authorization: `Bearer ${config.ORDERS_API_TOKEN}` } });
        return ((await res.json()) as { data: Array<{ order_id: string; status: string }> }).data;
      };
      const data = await until('live mode to produce orders (one paid) and events', async () => {
        const l = shop.stats().live;
        const d = l && l.orderVersions > 10 && l.events > 50 ? await recent() : [];
        return d.length > 10 && d.some((v) => v.status === 'paid') ? d : undefined;
      }, 30_000, 200);
      const live = shop.stats().live;
      expect(shop.index.size).toBe(before + (live?.orderVersions ?? 0));
      expect(live?.orderVersions).toBeGreaterThan(10);
      expect(live?.events).toBeGreaterThan(50);
      expect(data.length).toBeGreaterThan(10);
    } finally {
      await shop.stop();
    }
  });

  it('injects a spike of one event type at factor x the baseline rate', async () => {
    const topic = await freshTopic('spike');
    const producer = eventsProducer(kafka);
    await producer.connect();
    // 0.05 minutes = 3 s at 4 x 600/min = 2400/min: 120 events.
    const r = await runSpike({ producer, topic, event: 'add_to_cart', factor: 4, minutes: 0.05, baselinePerMinute: 600, seed: 1 });
    await producer.disconnect();
    expect(r.sent).toBe(120);
    const got = await consumeAll(kafka, topic, 120);
    expect(new Set(got.map((m) => (JSON.parse(m.value) as { event_name: string }).event_name))).toEqual(new Set(['add_to_cart']));
    expect(new Set(ids(got.map((m) => m.value))).size).toBe(120);
  });
});
