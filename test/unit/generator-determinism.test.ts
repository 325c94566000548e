import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateDataset, type GenerateOptions } from '../../shop/generator';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function generate(overrides: Partial<GenerateOptions> = {}): Promise<{ dir: string; hashes: Record<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'gen-det-'));
  dirs.push(dir);
  await generateDataset({ seed: 7, start: '2024-01-01', days: 2, scale: 0.05, dirt: 'default', out: dir, ...overrides });
  const hashes: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else hashes[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return { dir, hashes };
}

describe('generator determinism', () => {
  it('gives byte-identical files for the same arguments, and leaves no temporary files', async () => {
    const [a, b] = [await generate(), await generate()];
    expect(a.hashes).toEqual(b.hashes);
    expect(Object.keys(a.hashes)).toEqual([
      'events.jsonl', 'inventory.csv', 'manifest.json', 'orders.jsonl', 'products.csv',
      'purchases/purchases_2023-12-30.csv', 'purchases/purchases_2023-12-30.jsonl',
      'purchases/purchases_2023-12-31.csv', 'purchases/purchases_2023-12-31.jsonl', 'reviews.csv', 'users.csv',
    ]);
  });

  it('gives different data for a different seed', async () => {
    const [a, b] = [await generate(), await generate({ seed: 8 })];
    expect(a.hashes['events.jsonl']).not.toBe(b.hashes['events.jsonl']);
    expect(a.hashes['users.csv']).not.toBe(b.hashes['users.csv']);
  });

  it('plants nothing with --dirt none, and dirt does not change the underlying orders', async () => {
    const clean = await generate({ dirt: 'none' });
    const manifest = JSON.parse(readFileSync(join(clean.dir, 'manifest.json'), 'utf8')) as { totals: { invalid: number; duplicates: number; defects: Record<string, number> }; schemaChange: unknown };
    expect(Object.values(manifest.totals.defects).every((n) => n === 0)).toBe(true);
    expect([manifest.totals.invalid, manifest.totals.duplicates, manifest.schemaChange]).toEqual([0, 0, null]);
    const dirty = await generate();
    const versions = (dir: string) => new Set(readFileSync(join(dir, 'orders.jsonl'), 'utf8').split('\n'));
    expect(versions(dirty.dir)).toEqual(versions(clean.dir));
  });

  it('keeps order events and orders consistent, and purchase ids apart from API ids', async () => {
    const { dir } = await generate({ dirt: 'none' });
    const read = (f: string) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const placed = new Map(read('orders.jsonl').filter((o) => o.status === 'placed').map((o) => [o.order_id, o]));
    const orderEvents = read('events.jsonl').filter((e) => e.event_name === 'order');
    expect(orderEvents.length).toBeGreaterThan(0);
    for (const e of orderEvents) {
      const o = placed.get(e.order_id) as { user_id: string; created_at: string; lines: Array<{ product_id: string }> } | undefined;
      expect(o, String(e.order_id)).toBeDefined();
      expect([o?.user_id, o?.created_at, o?.lines.some((l) => l.product_id === e.product_id)]).toEqual([e.user_id, e.ts, true]);
    }
    const purchaseIds = readFileSync(join(dir, 'purchases/purchases_2023-12-30.csv'), 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split(',')[1]);
    expect(purchaseIds.every((id) => !placed.has(id))).toBe(true);
  });
});
