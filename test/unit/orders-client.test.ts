/** The orders API client against the simulator's real HTTP server (in-process), faults included. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchOrdersPage, pageUrl, retryAfterMs, type ClientHooks, type OrdersApi, type PageRequest } from '../../activities/orders-client';
import { HttpError, classifyError } from '../../lib/errors';
import { OrdersIndex } from '../../shop/simulator/orders-index';
import { startOrdersApi, type OrdersApi as SimApi } from '../../shop/simulator/orders-api';
import type { FaultOptions } from '../../shop/simulator/faults';

const TOKEN = 'test-token-123';
const T0 = Date.parse('2024-01-01T00:00:00Z');

function index(n: number): OrdersIndex {
  const ix = new OrdersIndex();
  for (let i = 0; i < n; i++) {
    const at = new Date(T0 + i * 1000).toISOString();
    ix.add(T0 + i * 1000, `O${i}`, JSON.stringify({ order_id: `O${i}`, user_id: 'U1', status: 'placed', created_at: at, updated_at: at, lines: [] }));
  }
  return ix;
}

const sleeps: number[] = [];
let beats = 0;
const hooks: ClientHooks = { heartbeat: () => void beats++, sleep: async (ms) => void sleeps.push(ms) };
const req: PageRequest = { since: '2024-01-01T00:00:00.000Z', before: '2024-01-02T00:00:00.000Z', cursor: null, limit: 10 };

let sim: SimApi | null = null;
let server: Server | null = null;
afterEach(async () => {
  await sim?.stop();
  sim = null;
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
  sleeps.length = 0;
  beats = 0;
});

async function simulator(faults?: FaultOptions, n = 25) {
  sim = await startOrdersApi({ index: index(n), token: TOKEN, port: 0, faults });
  return { url: sim.url, token: TOKEN };
}

async function fixed(status: number, body: string, delayMs = 0) {
  server = createServer((_req, res) => setTimeout(() => res.writeHead(status, { 'content-type': 'application/json' }).end(body), delayMs));
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: TOKEN };
}

describe('orders API client', () => {
  it('pages through a window with the cursor until next_cursor is null', async () => {
    const api = await simulator();
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const p = await fetchOrdersPage(api, { ...req, cursor }, hooks);
      ids.push(...p.page.data.map((o) => (o as { order_id: string }).order_id));
      cursor = p.page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(ids).toEqual(Array.from({ length: 25 }, (_, i) => `O${i}`));
  });

  it('waits Retry-After on 429 and backs off on 5xx, then gets the same page', async () => {
    const cleanApi = await simulator();
    const clean = await fetchOrdersPage(cleanApi, req, hooks);
    await sim?.stop();
    const api = await simulator({ seed: 3, rateLimitRate: 0.3, serverErrorRate: 0.3, retryAfterSeconds: 2 });
    let rateLimited = 0;
    let failures = 0;
    for (let i = 0; i < 5; i++) {
      const p = await fetchOrdersPage(api, req, hooks, { maxFailures: 20, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 60_000, maxRateLimitWaits: 50 });
      expect(p.body).toBe(clean.body);
      rateLimited += p.rateLimited;
      failures += p.failures;
    }
    expect(rateLimited).toBeGreaterThan(0);
    expect(failures).toBeGreaterThan(0);
    expect(sleeps.filter((ms) => ms === 2000)).toHaveLength(rateLimited);
    expect(sim?.stats().faults.total).toBe(rateLimited + failures);
  });

  it('gives up on 5xx after a few attempts with a retryable error', async () => {
    const api = await fixed(503, '{"error":"down"}');
    const err = await fetchOrdersPage(api, req, hooks).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(classifyError(err)).toEqual({ retryable: true });
    expect(sleeps).toEqual([500, 1000, 2000, 4000]);
  });

  it('times out a slow answer and retries it', async () => {
    const api = { ...(await fixed(200, '{"data":[],"next_cursor":null}', 400)), timeoutMs: 100 };
    const err = await fetchOrdersPage(api, req, hooks, { maxFailures: 2, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, maxRateLimitWaits: 1 }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/failed 3 times.*within 100 ms/);
    expect(classifyError(err)).toEqual({ retryable: true });
  });

  it('fails a wrong token at once, non-retryably, saying which variable to fix', async () => {
    const api = { ...(await simulator()), token: 'wrong-token-xyz' };
    const err = await fetchOrdersPage(api, req, hooks).catch((e: unknown) => e);
    expect(String(err)).toMatch(/rejected the token \(401\): set ORDERS_API_TOKEN/);
    expect(String(err)).not.toMatch(/wrong-token-xyz/);
    expect(classifyError(err)).toEqual({ retryable: false, type: 'Http401' });
    expect(sleeps).toEqual([]);
  });

  it('fails a 400 non-retryably with the API explanation', async () => {
    const api = await simulator();
    const err = await fetchOrdersPage(api, { ...req, cursor: 'forged' }, hooks).catch((e: unknown) => e);
    expect(String(err)).toMatch(/\(400\), cursor: cursor is not one this API issued/);
    expect(classifyError(err)).toEqual({ retryable: false, type: 'Http400' });
  });

  it('treats a 200 that is not a page as bad data', async () => {
    const api = await fixed(200, '{"items":[]}');
    const err = await fetchOrdersPage(api, req, hooks).catch((e: unknown) => e);
    expect(classifyError(err)).toEqual({ retryable: false, type: 'BadData' });
    expect(beats).toBeGreaterThan(0);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it('keeps the base path of an API mounted under a prefix', () => {
    const req: PageRequest = { since: '2024-01-01T00:00:00.000Z', before: '2024-01-01T00:10:00.000Z', limit: 5, cursor: null };
    const api = (url: string): OrdersApi => ({ url, token: 'x' });
    expect(pageUrl(api('https://shop.example.test/v1'), req)).toMatch(/^https:\/\/shop\.example\.test\/v1\/orders\?/);
    expect(pageUrl(api('http://127.0.0.1:18080'), req)).toMatch(/^http:\/\/127\.0\.0\.1:18080\/orders\?/);
  });
});
