/**
 * Helpers for tests that run the simulator in-process (this project's and the ingestion's): the shop
 * tables in a private schema, and reading a topic back from its beginning.
 */
import type { Kafka } from 'kafkajs';
import { Pool } from 'pg';
import type { Config } from '../../config';
import { readMigrations } from '../../lib/migrate';

/** The shop tables in a schema of the test's own, so tests never touch the shared shop data. */
export async function shopSchema(config: Config, name: string): Promise<{ pool: Pool; drop: () => Promise<void> }> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`schema name must be snake_case, got ${name}`);
  const admin = new Pool({ connectionString: config.SHOP_OWNER_DATABASE_URL, max: 1 });
  await admin.query(`create schema if not exists ${name}`);
  await admin.end();
  const pool = new Pool({ connectionString: config.SHOP_OWNER_DATABASE_URL, max: 3, options: `-c search_path=${name}` });
  // Every shop migration, minus its grants (they name the public schema).
  for (const m of readMigrations('shop')) await pool.query(m.sql.replace(/^grant .*$/gm, ''));
  return {
    pool,
    drop: async () => {
      await pool.query(`drop schema ${name} cascade`);
      await pool.end();
    },
  };
}

export interface ConsumedMessage { key: string | null; value: string; partition: number; /** CreateTime, ms */ timestamp: number }

/** Reads a topic from the beginning until `count` messages arrived (or 60 s passed). */
export async function consumeAll(kafka: Kafka, topic: string, count: number): Promise<ConsumedMessage[]> {
  const consumer = kafka.consumer({ groupId: `test-${topic}-${Date.now()}` });
  const out: ConsumedMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${out.length} of ${count} messages arrived on ${topic}`)), 60_000);
      void consumer.run({
        eachMessage: async ({ message, partition }) => {
          out.push({ key: message.key?.toString() ?? null, value: message.value?.toString() ?? '', partition, timestamp: Number(message.timestamp) });
          if (out.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** Deletes topics a test made (Kafka is shared by all test files; a topic already gone is fine). */
export async function deleteTopics(kafka: Kafka, topics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}
