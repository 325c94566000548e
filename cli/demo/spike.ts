/**
 * The demo's spike: a compressed behaviour stream (flat rates, then add_to_cart x8 for 3 minutes)
 * produced to the events topic with timestamps in the last hour, so the realtime loop judges its
 * minutes within seconds instead of waiting on the wall clock as `etl shop spike` would.
 */
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { flatStream } from '../../shop/simulator/flat-stream';
import { ensureTopic, eventsProducer } from '../../shop/simulator/events';
import { readLive, renderLive } from '../live-view';

const MIN = 60_000;

export interface DemoSpike { era: Date; minutes: number; sent: number }

export async function produceDemoSpike(kafka: Kafka, topic: string, partitions: number, now = Date.now()): Promise<DemoSpike> {
  const era = new Date(Math.floor(now / MIN) * MIN - 60 * MIN);
  const minutes = 25;
  const lines = flatStream(`demo${era.getTime()}`, era, minutes, { event: 'add_to_cart', factor: 8, fromMinute: 15, minutes: 3 });
  await ensureTopic(kafka, topic, partitions);
  const producer = eventsProducer(kafka);
  await producer.connect();
  try {
    for (let i = 0; i < lines.length; i += 2000) {
      await producer.send({ topic, acks: -1, messages: lines.slice(i, i + 2000).map((value) => ({ key: /"user_id":"([^"]*)"/.exec(value)?.[1] ?? null, value })) });
    }
  } finally {
    await producer.disconnect();
  }
  return { era, minutes, sent: lines.length };
}

/** Waits for the spike's alert, then prints the live view at the end of the spike stream. */
export async function showSpike(analytics: Pool, spike: DemoSpike, timeoutMs = 180_000): Promise<boolean> {
  const end = new Date(spike.era.getTime() + spike.minutes * MIN);
  const deadline = Date.now() + timeoutMs;
  let found = false;
  while (!found && Date.now() < deadline) {
    found = ((await analytics.query('select 1 from realtime_alerts where minute >= $1 and minute < $2', [spike.era, end])).rowCount ?? 0) > 0;
    if (!found) await new Promise((r) => setTimeout(r, 1000));
  }
  console.log(renderLive(await readLive(analytics, { at: end, minutes: 12 })).join('\n'));
  return found;
}
