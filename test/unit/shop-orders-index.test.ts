import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../shop/simulator/cursor';
import { OrdersIndex } from '../../shop/simulator/orders-index';
import { Rng } from '../../shop/generator/prng';

const T0 = Date.parse('2024-01-01T00:00:00Z');

/** Many versions crowd onto few timestamps, as batch status updates do. */
function crowdedIndex(n: number): OrdersIndex {
  const rng = new Rng(7, 'test');
  const idx = new OrdersIndex();
  const rows = Array.from({ length: n }, (_, i) => ({ ms: T0 + rng.int(0, 5) * 60_000, id: `O${rng.int(1, n / 4)}`, i }));
  for (const r of rows) idx.add(r.ms, r.id, JSON.stringify({ order_id: r.id, i: r.i }));
  return idx;
}

function drain(idx: OrdersIndex, limits: number[], since = -8.64e15, before = 8.64e15): string[] {
  const out: string[] = [];
  let after = null;
  for (let p = 0; ; p++) {
    const page = idx.page({ since, before, after, limit: limits[p % limits.length] as number, visibleUntil: 8.64e15 });
    out.push(...page.versions.map((v) => v.raw));
    if (!page.next) return out;
    after = decodeCursor(encodeCursor(page.next));
  }
}

describe('orders index pagination', () => {
  it('has no gaps or repeats when many versions share updated_at, for any limit', () => {
    const idx = crowdedIndex(2000);
    const all = drain(idx, [5000]);
    expect(all).toHaveLength(2000);
    expect(new Set(all).size).toBe(2000);
    for (const limits of [[1], [7], [100], [1000], [3, 50, 1, 999]]) expect(drain(idx, limits)).toEqual(all);
  });

  it('closes the window at the start and opens it at the end', () => {
    const idx = new OrdersIndex();
    for (const m of [0, 1, 1, 2, 3]) idx.add(T0 + m * 60_000, `O${m}`, `{"m":${m}}`);
    const got = drain(idx, [1], T0 + 60_000, T0 + 3 * 60_000);
    expect(got).toEqual(['{"m":1}', '{"m":1}', '{"m":2}']);
  });

  it('stays stable when limit changes mid-way', () => {
    const idx = crowdedIndex(300);
    const first = idx.page({ since: -8.64e15, before: 8.64e15, after: null, limit: 10, visibleUntil: 8.64e15 });
    const rest = drain(idx, [1000]).slice(10);
    const next = idx.page({ since: -8.64e15, before: 8.64e15, after: first.next, limit: 1000, visibleUntil: 8.64e15 });
    expect(next.versions.map((v) => v.raw)).toEqual(rest);
  });

  it('hides versions updated after the simulated now', () => {
    const idx = new OrdersIndex();
    for (const m of [0, 1, 2]) idx.add(T0 + m * 60_000, 'O1', `{"m":${m}}`);
    const page = idx.page({ since: -8.64e15, before: 8.64e15, after: null, limit: 10, visibleUntil: T0 + 60_000 });
    expect(page.versions.map((v) => v.raw)).toEqual(['{"m":0}', '{"m":1}']);
    expect(page.next).toBeNull();
  });

  it('keeps file order among identical keys and sorts late inserts into place', () => {
    const idx = new OrdersIndex();
    idx.add(T0 + 5, 'B', 'b1');
    idx.add(T0 + 5, 'B', 'b2');
    idx.add(T0 + 1, 'A', 'a');
    expect(drain(idx, [1])).toEqual(['a', 'b1', 'b2']);
  });

  it('rejects cursors it did not issue', () => {
    for (const bad of ['', 'x y', 'bm90LWpzb24', Buffer.from('[1,"a"]').toString('base64url'), Buffer.from('[1.5,"a",0]').toString('base64url')]) {
      expect(decodeCursor(bad)).toBeNull();
    }
  });
});
