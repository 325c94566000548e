/**
 * The simulator's other channels against the real services: the shop database (in a schema of the
 * test's own), Kafka (a fresh topic per test) and S3 (a fresh key prefix per test).
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { makeKafka, makeS3 } from '../../lib/clients';
import { deletePrefix, getObjectText, listObjects } from '../../lib/s3';
import { simClock } from '../../shop/simulator/clock';
import { startShop } from '../../shop/simulator/start-shop';
import { loadShopDatabase } from '../../shop/simulator/shop-database';
import { consumeAll, deleteTopics, shopSchema } from '../../shop/simulator/testing';
import { until } from '../support/wait';

const FIXTURE = join(__dirname, '..', 'fixtures', 'dataset-small');
const config = loadConfig();
const s3 = makeS3(config);
const kafka = makeKafka(config, 'shop-channels-test');
const id = randomUUID().slice(0, 8);
let schema: { pool: Pool; drop: () => Promise<void> };

beforeAll(async () => {
  schema = await shopSchema(config, `shop_test_${id}`);
});
afterAll(async () => {
  await schema.drop();
  await deletePrefix(s3, config.S3_BUCKET, `test-shop-${id}/`);
  await deleteTopics(kafka, [`test.shop-events.${id}.all`]);
});

const lines = (file: string) => readFileSync(join(FIXTURE, file), 'utf8').split('\n').filter((l) => l.trim() !== '');

describe('startShop over the small fixture dataset', () => {
  it('loads the database, sends every event to Kafka and drops every purchase file', async () => {
    const topic = `test.shop-events.${id}.all`;
    const prefix = `test-shop-${id}/all/`;
    const shop = await startShop({
      config, dataDir: FIXTURE, api: { port: 0 }, database: { pool: schema.pool }, kafka: { kafka, topic }, drops: { s3, prefix },
    });
    try {
      await shop.replayed;
      const stats = shop.stats();
      expect(stats.errors).toEqual([]);
      const events = lines('events.jsonl');
      expect(stats.events?.sent).toBe(events.length);

      const consumed = await consumeAll(kafka, topic, events.length);
      expect(consumed.map((m) => m.value).sort()).toEqual(events.map((l) => l.trim()).sort());
      for (const m of consumed) expect(m.key).toBe((JSON.parse(m.value) as { user_id?: string }).user_id ?? null);

      const files = readdirSync(join(FIXTURE, 'purchases')).sort();
      const listed = (await listObjects(s3, config.S3_BUCKET, prefix)).map((o) => o.key).sort();
      expect(listed).toEqual(files.map((f) => prefix + f));
      for (const f of files) expect(await getObjectText(s3, config.S3_BUCKET, prefix + f)).toBe(readFileSync(join(FIXTURE, 'purchases', f), 'utf8'));

      const res = await fetch(`${shop.apiUrl}/orders?limit=1000`, { headers: { authorization: `Bearer ${config.ORDERS_API_TOKEN}` } });
      expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(lines('orders.jsonl').length);
    } finally {
      await shop.stop();
    }
    const { rows } = await schema.pool.query<{ product_id: string; updated_at: Date }>('select product_id, updated_at from products order by product_id');
    expect(rows.length).toBe(new Set(lines('products.csv').slice(1).map((l) => l.split(',')[0])).size);
    const again = await loadShopDatabase({ pool: schema.pool, dataDir: FIXTURE });
    expect(again).toEqual({ products: 0, users: 0, inventory: 0, reviews: 0 });
  });

  it('keeps the latest version of a user, and loads only what is due as of a time', async () => {
    const s = await shopSchema(config, `shop_test_${id}_asof`);
    try {
      await loadShopDatabase({ pool: s.pool, dataDir: FIXTURE, asOf: new Date('2024-01-01T00:00:00Z') });
      const before = await s.pool.query<{ email: string }>("select email from users where user_id = 'U100001'");
      expect(before.rows[0]?.email).toBe('ana.garcia.1@example.com');
      const inv = await s.pool.query<{ n: string }>('select count(*) as n from inventory');
      expect(Number(inv.rows[0]?.n)).toBe(2);
      await loadShopDatabase({ pool: s.pool, dataDir: FIXTURE, since: new Date('2024-01-01T00:00:00Z') });
      const after = await s.pool.query<{ email: string; updated_at: Date }>("select email, updated_at from users where user_id = 'U100001'");
      expect(after.rows[0]?.email).toBe('ana.garcia.1@mail.example.org');
      expect(after.rows[0]?.updated_at.toISOString()).toBe('2024-01-02T09:00:00.000Z');
      const rev = await s.pool.query<{ created_at: Date; updated_at: Date }>('select created_at, updated_at from reviews');
      for (const r of rev.rows) expect(r.updated_at).toEqual(r.created_at);
    } finally {
      await s.drop();
    }
  });

  it('in replay drops each file once the simulated clock passes its date', async () => {
    const prefix = `test-shop-${id}/replay/`;
    // From 2023-12-31T00:00, 6 simulated hours per second: the 12-30 files are due at once, the 12-31
    // ones when the clock reaches 2024-01-01T00:00, 4 s later. Each drop is timed on the clock as it
    // is logged, after its upload: a slow poll cannot make it look late.
    const HOUR = 3_600_000;
    const clock = simClock(Date.parse('2023-12-31T00:00:00Z'), 6 * 3600);
    const dueAt: Record<string, number> = {
      'purchases_2023-12-30.csv': Date.parse('2023-12-31T00:00:00Z'), 'purchases_2023-12-30.jsonl': Date.parse('2023-12-31T00:00:00Z'),
      'purchases_2023-12-31.csv': Date.parse('2024-01-01T00:00:00Z'), 'purchases_2023-12-31.jsonl': Date.parse('2024-01-01T00:00:00Z'),
    };
    const droppedAt = new Map<string, number>();
    const log = (m: string) => {
      if (m.startsWith(`drop: ${prefix}`)) droppedAt.set(m.slice(`drop: ${prefix}`.length), clock.now());
    };
    const shop = await startShop({ config, dataDir: FIXTURE, api: false, database: false, kafka: false, drops: { s3, prefix }, clock, log });
    try {
      await until('all four files dropped', async () => (droppedAt.size === 4 ? true : undefined), 30_000, 20);
      await shop.replayed;
    } finally {
      await shop.stop();
    }
    expect(shop.stats().errors).toEqual([]);
    expect(shop.stats().dropped.map((k) => k.slice(prefix.length))).toEqual(Object.keys(dueAt));
    expect([...droppedAt.keys()].sort()).toEqual(Object.keys(dueAt));
    // Never before its date, and well within its day (12 simulated hours are 2 s of wall clock).
    for (const [name, at] of droppedAt) {
      expect(at, name).toBeGreaterThanOrEqual(dueAt[name]!);
      expect(at - dueAt[name]!, name).toBeLessThan(12 * HOUR);
    }
  });
});
