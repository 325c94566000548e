/** The orders API over real HTTP: pagination, auth, parameter errors, faults and live visibility. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrdersIndex } from '../../shop/simulator/load-orders';
import { startOrdersApi, type OrdersApi } from '../../shop/simulator/orders-api';
import type { FaultOptions } from '../../shop/simulator/faults';

const TOKEN = 'test-orders-token';
const T0 = Date.parse('2024-01-01T00:00:00Z');

/** 600 versions on only 4 distinct timestamps, as a batch status job produces. */
function crowdedDataset(): { dir: string; lines: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'shop-api-'));
  const lines = Array.from({ length: 600 }, (_, i) => {
    const at = new Date(T0 + (i % 4) * 3_600_000).toISOString();
    return JSON.stringify({ order_id: `O${1000 + (i % 150)}`, user_id: 'U1', status: 'shipped', created_at: new Date(T0).toISOString(), updated_at: at, lines: [{ product_id: 'P1', quantity: 1, unit_price: `${i}.00` }] });
  });
  lines.push(lines[5] as string); // a planted duplicate is served as it is
  writeFileSync(join(dir, 'orders.jsonl'), lines.join('\n') + '\n');
  return { dir, lines };
}

let api: OrdersApi | null = null;
afterEach(async () => {
  await api?.stop();
  api = null;
});

async function start(dir: string, faults?: FaultOptions, now?: () => number): Promise<OrdersApi> {
  api = await startOrdersApi({ index: await loadOrdersIndex(dir), token: TOKEN, port: 0, faults, now });
  return api;
}

async function get(path: string, token: string | null = TOKEN): Promise<{ status: number; body: Record<string, unknown>; text: string; headers: Headers }> {
  const res = await fetch(`${(api as OrdersApi).url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown>, text, headers: res.headers };
}

async function drainRaw(query: string, limits: number[]): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | null = null;
  for (let p = 0; ; p++) {
    const c: string = cursor ? `&cursor=${cursor}` : '';
    const r = await get(`/orders?${query}&limit=${limits[p % limits.length]}${c}`);
    expect(r.status).toBe(200);
    // Versions are sent byte-for-byte: the data array is the file's lines joined by commas.
    const data = r.text.slice('{"data":['.length, r.text.lastIndexOf('],"next_cursor"'));
    if (data) out.push(...(JSON.parse(`[${data}]`) as unknown[]).map((v) => JSON.stringify(v)));
    cursor = r.body.next_cursor as string | null;
    if (!cursor) return out;
  }
}

describe('orders API', () => {
  it('pages through every version once, in (updated_at, order_id) order, for any limit', async () => {
    const { dir, lines } = crowdedDataset();
    await start(dir);
    const all = await drainRaw('updated_since=2023-12-31T00:00:00Z', [1000]);
    expect(all).toHaveLength(lines.length);
    expect([...all].sort()).toEqual([...lines].sort());
    const keys = all.map((l) => JSON.parse(l) as { updated_at: string; order_id: string }).map((v) => `${v.updated_at}|${v.order_id}`);
    expect(keys).toEqual([...keys].sort());
    for (const limits of [[1], [7], [100], [13, 250, 1]]) expect(await drainRaw('updated_since=2023-12-31T00:00:00Z', limits)).toEqual(all);
  });

  it('serves a window closed at the start and open at the end', async () => {
    const { dir, lines } = crowdedDataset();
    await start(dir);
    const got = await drainRaw('updated_since=2024-01-01T01:00:00Z&updated_before=2024-01-01T03:00:00Z', [50]);
    const want = lines.filter((l) => ['2024-01-01T01:00:00.000Z', '2024-01-01T02:00:00.000Z'].includes((JSON.parse(l) as { updated_at: string }).updated_at));
    expect(got.sort()).toEqual(want.sort());
  });

  it('answers 401 without the bearer token or with a wrong one', async () => {
    await start(crowdedDataset().dir);
    for (const token of [null, 'wrong-token', `${TOKEN}x`]) {
      const r = await get('/orders', token);
      expect(r.status).toBe(401);
      expect(r.body.error).toBe('unauthorized');
    }
    expect((await get('/health', null)).status).toBe(200);
  });

  it('answers 400 naming the parameter', async () => {
    await start(crowdedDataset().dir);
    for (const [q, parameter] of [['updated_since=nope', 'updated_since'], ['limit=0', 'limit'], ['limit=5000', 'limit'], ['cursor=%%%', 'cursor'],
      ['updated_since=2024-01-02T00:00:00Z&updated_before=2024-01-01T00:00:00Z', 'updated_since']]) {
      const r = await get(`/orders?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.parameter, q).toBe(parameter);
    }
  });

  it('injects 429s with Retry-After at the configured rate, deterministically, and counts them', async () => {
    const dir = crowdedDataset().dir;
    const run = async () => {
      await start(dir, { seed: 9, rateLimitRate: 0.2, retryAfterSeconds: 3 });
      const statuses: number[] = [];
      for (let i = 0; i < 500; i++) {
        const r = await get('/orders?limit=1');
        statuses.push(r.status);
        if (r.status === 429) expect(r.headers.get('retry-after')).toBe('3');
      }
      const stats = (await get('/stats', null)).body as { faults: { rate_limited: number } };
      await api?.stop();
      api = null;
      return { statuses, counted: stats.faults.rate_limited };
    };
    const a = await run();
    const limited = a.statuses.filter((s) => s === 429).length;
    expect(Math.abs(limited - 100)).toBeLessThanOrEqual(4 * Math.sqrt(500 * 0.2 * 0.8));
    expect(a.counted).toBe(limited);
    expect((await run()).statuses).toEqual(a.statuses);
  });

  it('answers 5xx and slow responses, and holds timed-out requests until it closes them', async () => {
    await start(crowdedDataset().dir, { seed: 3, serverErrorRate: 0.5, slowRate: 0.5, slowMs: 50 });
    const statuses = new Set<number>();
    for (let i = 0; i < 40; i++) statuses.add((await get('/orders?limit=1')).status);
    expect([...statuses].every((s) => [200, 500, 502, 503].includes(s))).toBe(true);
    expect(statuses.has(200)).toBe(true);
    await api?.stop();
    await start(crowdedDataset().dir, { timeoutRate: 1, timeoutSeconds: 1 });
    const began = Date.now();
    await expect(get('/orders')).rejects.toThrow();
    expect(Date.now() - began).toBeGreaterThanOrEqual(900);
    expect(((await get('/stats', null)).body.faults as { timeout: number }).timeout).toBe(1);
  });

  it('in live mode hides versions updated after the simulated now', async () => {
    const { dir } = crowdedDataset();
    await start(dir, undefined, () => T0 + 3_600_000);
    const got = await drainRaw('updated_since=2023-12-31T00:00:00Z', [1000]);
    expect(got).toHaveLength(301); // the first two timestamps, plus the duplicated line on the first
  });

  it('serves the small fixture dataset exactly as written', async () => {
    const dir = join(__dirname, '..', 'fixtures', 'dataset-small');
    await start(dir);
    const file = readFileSync(join(dir, 'orders.jsonl'), 'utf8').split('\n').filter((l) => l.trim());
    const got = await drainRaw('updated_since=2020-01-01T00:00:00Z', [2]);
    expect(got.sort()).toEqual(file.map((l) => JSON.stringify(JSON.parse(l))).sort());
  });
});
