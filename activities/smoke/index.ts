/**
 * Wiring check: each activity writes to one real service and reads the value back, so one run
 * proves the worker reaches staging PostgreSQL, Kafka and S3 with the configured credentials.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Kafka } from 'kafkajs';
import type { Pool } from 'pg';
import { getObjectText, putObject } from '../../lib/s3';

export interface SmokeDeps { staging: Pool; s3: S3Client; bucket: string; kafka: Kafka }

/** runId is unique per workflow run; every write is keyed by it, so a retry overwrites itself. */
export interface SmokeInput { runId: string; payload: string }
export interface SmokeOutput { service: 'staging' | 'kafka' | 's3'; wrote: string; readBack: string; location: string }

export const SMOKE_TOPIC = 'etl.smoke';

export function createSmokeActivities({ staging, s3, bucket, kafka }: SmokeDeps) {
  return {
    async checkStaging({ runId, payload }: SmokeInput): Promise<SmokeOutput> {
      await staging.query(
        'insert into etl.smoke (run_id, payload) values ($1, $2) on conflict (run_id) do update set payload = excluded.payload',
        [runId, payload],
      );
      const { rows } = await staging.query<{ payload: string }>('select payload from etl.smoke where run_id = $1', [runId]);
      return { service: 'staging', wrote: payload, readBack: rows[0]?.payload ?? '', location: `etl.smoke/${runId}` };
    },

    async checkS3({ runId, payload }: SmokeInput): Promise<SmokeOutput> {
      const key = `raw/smoke/${runId.replace(/[^A-Za-z0-9._-]+/g, '_')}.txt`;
      await putObject(s3, bucket, key, payload, 'text/plain');
      return { service: 's3', wrote: payload, readBack: await getObjectText(s3, bucket, key), location: `s3://${bucket}/${key}` };
    },

    async checkKafka({ runId, payload }: SmokeInput): Promise<SmokeOutput> {
      const producer = kafka.producer({ allowAutoTopicCreation: true });
      await producer.connect();
      let partition = 0;
      let offset = '0';
      try {
        const [meta] = await producer.send({ topic: SMOKE_TOPIC, messages: [{ key: runId, value: payload }] });
        partition = meta?.partition ?? 0;
        offset = meta?.baseOffset ?? '0';
      } finally {
        await producer.disconnect();
      }
      const readBack = await readOne(kafka, partition, offset);
      return { service: 'kafka', wrote: payload, readBack, location: `${SMOKE_TOPIC}[${partition}]@${offset}` };
    },
  };
}

/** Reads the message at one offset, with a throwaway consumer group, and gives up after 30 s. */
async function readOne(kafka: Kafka, partition: number, offset: string): Promise<string> {
  const consumer = kafka.consumer({ groupId: `etl-smoke-${partition}-${offset}-${process.pid}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: SMOKE_TOPIC });
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message at ${SMOKE_TOPIC}[${partition}]@${offset} within 30 s`)), 30_000);
      consumer.on(consumer.events.GROUP_JOIN, () => consumer.seek({ topic: SMOKE_TOPIC, partition, offset }));
      consumer
        .run({
          eachMessage: async ({ partition: p, message }) => {
            if (p === partition && message.offset === offset) {
              clearTimeout(timer);
              resolve(message.value?.toString('utf8') ?? '');
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}

export type SmokeActivities = ReturnType<typeof createSmokeActivities>;
