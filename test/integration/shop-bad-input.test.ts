/** Dataset folders that break the layout fail with the file, line and field named. */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { startShop } from '../../shop/simulator/start-shop';
import { loadShopDatabase } from '../../shop/simulator/shop-database';
import { shopSchema } from '../../shop/simulator/testing';

const FIXTURE = join(__dirname, '..', 'fixtures', 'dataset-small');
const config = loadConfig();
const offline = { config, api: false, database: false, kafka: false, drops: false } as const;
let schema: Awaited<ReturnType<typeof shopSchema>>;

beforeAll(async () => {
  schema = await shopSchema(config, `shop_test_bad_${Date.now()}`);
});
afterAll(async () => schema.drop());

/** A copy of the fixture with one file replaced (or removed when content is null). */
function variant(file: string, edit: (text: string) => string | null): string {
  const dir = mkdtempSync(join(tmpdir(), 'shop-bad-'));
  cpSync(FIXTURE, dir, { recursive: true });
  const next = edit(readFileSync(join(dir, file), 'utf8'));
  if (next === null) rmSync(join(dir, file));
  else writeFileSync(join(dir, file), next);
  return dir;
}

describe('bad dataset folders', () => {
  it('names a missing required file', async () => {
    await expect(startShop({ ...offline, dataDir: variant('orders.jsonl', () => null) })).rejects.toThrow(/orders\.jsonl.*missing/);
    await expect(startShop({ ...offline, dataDir: variant('users.csv', () => null) })).rejects.toThrow(/users\.csv.*missing/);
  });

  it('allows the optional files to be missing', async () => {
    const dir = variant('reviews.csv', () => null);
    rmSync(join(dir, 'inventory.csv'));
    rmSync(join(dir, 'manifest.json'));
    const r = await loadShopDatabase({ pool: schema.pool, dataDir: dir });
    expect(r.reviews + r.inventory).toBe(0);
    expect(r.products).toBeGreaterThan(0);
  });

  it('names file, line and field of an order the API cannot serve', async () => {
    const dir = variant('orders.jsonl', (t) => t.replace('"updated_at":"2024-01-01T10:10:00.000Z"', '"updated_at":"yesterday"'));
    await expect(startShop({ ...offline, dataDir: dir })).rejects.toThrow(/orders\.jsonl:2 field updated_at/);
    const broken = variant('orders.jsonl', (t) => t.replace(/^\{/, '{{'));
    await expect(startShop({ ...offline, dataDir: broken })).rejects.toThrow(/orders\.jsonl:1: not valid JSON/);
  });

  it('names file, line and field of a catalogue row, and loads nothing of it', async () => {
    // A schema of its own, empty: whatever a failed load leaves behind shows as rows.
    const empty = await shopSchema(config, `shop_test_bad_rows_${Date.now()}`);
    const counts = async () => (await empty.pool.query<{ products: number; users: number; inventory: number; reviews: number }>(
      `select (select count(*) from products)::int products, (select count(*) from users)::int users,
              (select count(*) from inventory)::int inventory, (select count(*) from reviews)::int reviews`)).rows[0];
    const none = { products: 0, users: 0, inventory: 0, reviews: 0 };
    try {
      const dir = variant('products.csv', (t) => t.replace('15.00', 'fifteen'));
      await expect(loadShopDatabase({ pool: empty.pool, dataDir: dir })).rejects.toThrow(/products\.csv:5 field price/);
      expect(await counts()).toEqual(none);
      // inventory is read after products and users, which the load's transaction had merged already.
      const header = variant('inventory.csv', (t) => t.replace('stock_level', 'stock'));
      await expect(loadShopDatabase({ pool: empty.pool, dataDir: header })).rejects.toThrow(/inventory\.csv:1 field stock_level/);
      expect(await counts()).toEqual(none);
      // The counts do see a load: the intact fixture fills every table.
      const loaded = await loadShopDatabase({ pool: empty.pool, dataDir: FIXTURE });
      expect(Object.values(loaded).every((n) => n > 0)).toBe(true);
      expect(await counts()).toEqual(loaded);
    } finally {
      await empty.drop();
    }
  });

  it('names a file in purchases/ that is no purchase export (any name is one, by its extension)', async () => {
    const dir = variant('users.csv', (t) => t);
    writeFileSync(join(dir, 'purchases', 'export.xlsx'), 'PK');
    await expect(startShop({ ...offline, dataDir: dir })).rejects.toThrow(/purchases\/export\.xlsx: not a purchase file: the name must end in \.csv/);
  });
});
