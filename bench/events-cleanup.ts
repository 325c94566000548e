/** What the events benchmarks leave behind, removed: staged rows, loads, offsets, realtime marks, raw objects, the topic. */
import { closeEventReaders } from '../activities/events/reader';
import { deletePrefix } from '../lib/s3';
import type { TestEnv } from '../test/support/env';
import { cleanUpRealtimeEra } from './realtime-era';

export async function cleanUpEventsBench(env: TestEnv, topic: string, tag: string, close = true): Promise<void> {
  const { staging, analytics, kafka, s3, bucket } = env.deps;
  await closeEventReaders();
  await staging.query('delete from staging.events where event_id like $1', [`${tag}-%`]);
  await staging.query('delete from etl.loads where load_id like $1', [`events/${topic}/%`]);
  await staging.query('delete from etl.kafka_offsets where topic = $1', [topic]);
  // The worker's activities mark minutes dirty (the realtime hook) in the same transactions as the events.
  await cleanUpRealtimeEra(staging, analytics, topic);
  await deletePrefix(s3, bucket, `raw/events/dt=${new Date().toISOString().slice(0, 10)}/${topic}-`);
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  if (close) await env.close();
}
