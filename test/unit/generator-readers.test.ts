/**
 * The committed fixture (test/fixtures/dataset-small) holds one of each planted defect; reading it
 * back through the dataset readers must reproduce its manifest exactly, and a broken layout must
 * fail with the file, line and field named.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readInventory, readProducts, readReviews, readUsers } from '../../shop/dataset/catalog-readers';
import { DatasetError } from '../../shop/dataset/dataset-error';
import { openDataset, readEvents, readManifest, readOrders, readPurchaseFile } from '../../shop/dataset/read-sources';

const FIXTURE = join(__dirname, '../fixtures/dataset-small');
const copies: string[] = [];
afterAll(() => copies.forEach((d) => rmSync(d, { recursive: true, force: true })));

function copy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dataset-small-'));
  cpSync(FIXTURE, dir, { recursive: true });
  copies.push(dir);
  return dir;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('dataset-small fixture', () => {
  const manifest = readManifest(FIXTURE) ?? expect.fail('fixture has a manifest');
  const stats = (f: string) => manifest.files[f] ?? expect.fail(f);

  it('lists purchase files by name, and reads the catalogue tables', async () => {
    const folder = openDataset(FIXTURE);
    expect(folder.purchases.map((p) => p.path)).toEqual(Object.keys(manifest.files).filter((f) => f.startsWith('purchases/')));
    expect((await collect(readProducts(FIXTURE))).length).toBe(stats('products.csv').rows);
    expect((await collect(readUsers(FIXTURE))).length).toBe(stats('users.csv').rows);
    expect((await collect(readInventory(FIXTURE))).length).toBe(stats('inventory.csv').rows);
    expect((await collect(readReviews(FIXTURE))).length).toBe(stats('reviews.csv').rows);
  });

  it('purchase verdicts match the manifest', async () => {
    for (const file of openDataset(FIXTURE).purchases) {
      const seen = new Set<string>();
      let invalid = 0, duplicates = 0, mismatched = 0;
      const records = await collect(readPurchaseFile(FIXTURE, file));
      for (const { check } of records) {
        if (!check.ok) { invalid++; continue; }
        const key = `${check.value.orderId}|${check.value.productId}`;
        if (seen.has(key)) duplicates++;
        else if (check.value.totalMismatch) mismatched++;
        seen.add(key);
      }
      const s = stats(file.path);
      expect([file.path, records.length, invalid, duplicates, mismatched]).toEqual([file.path, s.rows, s.invalid, s.duplicates, s.defects.total_mismatch]);
    }
  });

  it('event and order verdicts match the manifest', async () => {
    const events = await collect(readEvents(FIXTURE));
    const ids = new Set<string>();
    let duplicates = 0, max = -Infinity, late = 0, ooo = 0;
    for (const { check } of events) {
      if (!check.ok) continue;
      if (ids.has(check.value.eventId)) { duplicates++; continue; }
      ids.add(check.value.eventId);
      const lag = max - check.value.ts.getTime();
      if (lag >= 3_600_000) late++;
      else if (lag > 0) ooo++;
      max = Math.max(max, check.value.ts.getTime());
    }
    const e = stats('events.jsonl');
    expect([events.length, events.filter((x) => !x.check.ok).length, duplicates, late, ooo]).toEqual([e.rows, e.invalid, e.duplicates, e.defects.late_event, e.defects.out_of_order_event]);
    const orders = await collect(readOrders(FIXTURE));
    const keys = new Set(orders.map((o) => `${String(o.order.order_id)}|${String(o.order.updated_at)}`));
    expect(orders.length - keys.size).toBe(stats('orders.jsonl').duplicates);
  });
});

describe('layout errors name file, line and field', () => {
  it('names a missing required file', () => {
    const dir = copy();
    rmSync(join(dir, 'orders.jsonl'));
    expect(() => openDataset(dir)).toThrow(/orders\.jsonl.*required file missing/);
  });

  it('allows the optional files to be absent', () => {
    const dir = copy();
    for (const f of ['reviews.csv', 'inventory.csv', 'manifest.json', 'purchases']) rmSync(join(dir, f), { recursive: true });
    expect(openDataset(dir)).toMatchObject({ purchases: [], hasInventory: false, hasReviews: false, hasManifest: false });
    expect(readManifest(dir)).toBeNull();
  });

  it('names the line and field of a broken order version', async () => {
    const dir = copy();
    writeFileSync(join(dir, 'orders.jsonl'), '{"order_id":"O1","user_id":"U1","status":"placed","created_at":"2024-01-01","updated_at":"2024-01-01","lines":[{"product_id":"P1","quantity":1,"unit_price":"1.00"}]}\n{"order_id":"O1","user_id":"U1","status":"placed","created_at":"2024-01-01","updated_at":"yesterday","lines":[]}\n');
    const err = await collect(readOrders(dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetError);
    expect(err).toMatchObject({ file: 'orders.jsonl', line: 2, field: 'updated_at' });
  });

  it('rejects a purchase file without the required columns; takes any file name and gzip; rejects unknown extensions', async () => {
    const dir = copy();
    writeFileSync(join(dir, 'purchases/purchases_2023-12-30.csv'), 'CustomerID,OrderID\nU1,H1\n');
    const file = openDataset(dir).purchases[0] ?? expect.fail('one purchase file');
    await expect(collect(readPurchaseFile(dir, file))).rejects.toThrow(/purchases_2023-12-30\.csv:1: bad purchase header: header lacks OrderDate/);
    const line = 'CustomerID,OrderID,OrderDate,ProductID,ProductName,Quantity,Price,Total\nU1,H9,2023-12-01,P1,X,1,2.00,2.00\n';
    writeFileSync(join(dir, 'purchases/customer_purchases.csv'), line);
    writeFileSync(join(dir, 'purchases/older export.csv.gz'), gzipSync(line));
    writeFileSync(join(dir, 'purchases/.DS_Store'), 'binary');
    const named = openDataset(dir).purchases;
    expect(named.map((p) => p.path)).toContain('purchases/customer_purchases.csv');
    const gz = named.find((p) => p.path === 'purchases/older export.csv.gz') ?? expect.fail('gzip file listed');
    expect(gz).toMatchObject({ format: 'csv', gzip: true });
    expect((await collect(readPurchaseFile(dir, gz))).map((r) => r.check.ok)).toEqual([true]);
    writeFileSync(join(dir, 'purchases/notes.txt'), '');
    expect(() => openDataset(dir)).toThrow(/purchases\/notes\.txt.*\.csv, \.jsonl/);
  });
});

describe('events.jsonl with a line that is not JSON', () => {
  it('yields it as an invalid event, so the simulator sends it on for the pipeline to quarantine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'events-bad-'));
    copies.push(dir);
    writeFileSync(join(dir, 'events.jsonl'), '{"event_id":"E1","event_name":"view","user_id":"U1","session_id":"S1","product_id":"P1","ts":"2024-01-01T00:00:00Z"}\n{"event_id": "E2", \n');
    const events = await collect(readEvents(dir));
    expect(events.map((e) => [e.line, e.check.ok])).toEqual([[1, true], [2, false]]);
    expect(events[1]).toMatchObject({ text: '{"event_id": "E2", ', check: { reason: 'not valid JSON' } });
  });
});
