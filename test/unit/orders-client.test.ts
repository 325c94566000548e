/** The orders API client against the simulator's real HTTP server (in-process), faults included. */
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchOrdersPage, pageUrl, retryAfterMs, type ClientHooks, type OrdersApi, type PageRequest, type RetryPolicy } from '../../activities/orders/client';
import { windowPages } from '../../activities/orders';
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

/** A hostile API of the test's own on 127.0.0.1; `requests` counts what it was asked. */
let requests = 0;
async function serve(handler: RequestListener) {
  requests = 0;
  server = createServer((req, res) => {
    requests++;
    handler(req, res);
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: TOKEN };
}

function fixed(status: number, body: string, delayMs = 0, contentType = 'application/json') {
  return serve((_req, res) => void setTimeout(() => res.writeHead(status, { 'content-type': contentType }).end(body), delayMs));
}

/** Writes `chunk` for as long as the client reads, without ever ending the body. */
function endless(res: ServerResponse, chunk: Buffer): void {
  const pump = () => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
}

const quick: RetryPolicy = { maxFailures: 4, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1, maxRateLimitWaits: 1 };
const page = (n: number, next: string | null) => JSON.stringify({ data: Array.from({ length: n }, (_, i) => ({ order_id: `O${i}` })), next_cursor: next });

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

describe('orders API client against a hostile API', () => {
  it('refuses a page over the body cap at once, naming the cap and ORDERS_API_PAGE_SIZE', async () => {
    const body = page(100, 'secret-cursor');
    const api = { ...(await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no content-length to trust
      for (let i = 0; i < body.length; i += 256) res.write(body.slice(i, i + 256));
      res.end();
    })), maxBodyBytes: 1024 };
    const err = await fetchOrdersPage(api, { ...req, cursor: 'secret-cursor' }, hooks).catch((e: unknown) => e);
    expect(classifyError(err)).toEqual({ retryable: false, type: 'BadData' });
    expect(String(err)).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/orders\?.*cursor=….*over the cap of 1024 bytes.*ORDERS_API_PAGE_SIZE/);
    expect(String(err)).not.toMatch(/secret-cursor/);
    expect(requests).toBe(1);
  });

  it('stops reading an endless body at the cap, long before the timeout', async () => {
    const api = { ...(await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":[');
      endless(res, Buffer.alloc(64 * 1024, ' '));
    })), maxBodyBytes: 4 * 1024 * 1024, timeoutMs: 20_000 };
    const began = performance.now();
    const err = await fetchOrdersPage(api, req, hooks, { ...quick, maxFailures: 0 }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/over the cap of 4194304 bytes \(4 MiB\)/);
    expect(classifyError(err)).toEqual({ retryable: false, type: 'BadData' });
    expect(performance.now() - began).toBeLessThan(15_000); // the 20 s timeout would be the other way out
  });

  it('refuses a declared Content-Length over the cap without reading the body', async () => {
    const api = { ...(await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(100 * 1024 * 1024) });
      res.write('{"data":['); // and then nothing: only the header can end this quickly
    })), maxBodyBytes: 1024 * 1024, timeoutMs: 20_000 };
    const began = performance.now();
    const err = await fetchOrdersPage(api, req, hooks, { ...quick, maxFailures: 0 }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/over the cap of 1048576 bytes \(1 MiB\) \(Content-Length 104857600\)/);
    expect(classifyError(err)).toEqual({ retryable: false, type: 'BadData' });
    expect(performance.now() - began).toBeLessThan(15_000); // the 20 s timeout would be the other way out
  });

  it('ends a slow-loris body (headers at once, then a byte now and then) by the timeout', async () => {
    const timers: NodeJS.Timeout[] = [];
    const api = { ...(await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"data":[');
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(' ')), 20);
      timers.push(t);
    })), timeoutMs: 300 };
    const began = performance.now();
    const err = await fetchOrdersPage(api, req, hooks, { ...quick, maxFailures: 1 }).catch((e: unknown) => e);
    timers.forEach(clearInterval);
    expect(String(err)).toMatch(/failed 2 times.*within 300 ms/);
    expect(classifyError(err)).toEqual({ retryable: true });
    expect(requests).toBe(2);
    expect(performance.now() - began).toBeLessThan(10_000);
  });

  it("retries a proxy's HTML error page answered with 200, then takes the real page", async () => {
    const api = await serve((_req, res) => {
      if (requests <= 2) return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>');
      res.writeHead(200, { 'content-type': 'application/json' }).end(page(2, null));
    });
    const p = await fetchOrdersPage(api, req, hooks);
    expect(p.page.data).toHaveLength(2);
    expect(p.failures).toBe(2);
    expect(sleeps).toEqual([500, 1000]);
  });

  it.each([
    ['an HTML page', 'text/html; charset=utf-8', `<!DOCTYPE html><html><head><title>Sign in</title></head>${'<p>x</p>'.repeat(100)}</html>`, /not JSON/],
    ['truncated JSON', 'application/json', '{"data":[{"order_id":"O1","lines":[', /not JSON \(.*JSON.*\)/],
    ['JSON of the wrong shape', 'application/json', '{"orders":[],"next":null}', /JSON that is not a page \(data: .*\)/],
  ])('fails %s after its retries, non-retryably, saying what came and what was expected', async (_what, contentType, body, problem) => {
    const api = await fixed(200, body, 0, contentType);
    const err = await fetchOrdersPage(api, req, hooks, quick).catch((e: unknown) => e);
    expect(classifyError(err)).toEqual({ retryable: false, type: 'BadData' });
    expect(requests).toBe(quick.maxFailures + 1);
    const message = String(err);
    expect(message).toMatch(problem);
    expect(message).toContain(`content-type ${contentType}`);
    expect(message).toContain(JSON.stringify(body.slice(0, 200)));
    expect(message).not.toContain(body.slice(0, 201));
    expect(message).toMatch(/expected JSON \{"data": \[\.\.\.\], "next_cursor": string \| null\}/);
  });

  // The n-th page's next_cursor, for a cursor chain that loops back on itself.
  const chains: Array<[string, (cursor: string | null) => string | null, RegExp]> = [
    ['repeats the cursor it was asked with', (c) => c ?? 'c-1', /cursor "c-1" again, after page 2/],
    ['cycles back to an earlier cursor', (c) => ({ 'c-1': 'c-2', 'c-2': 'c-3', 'c-3': 'c-1' })[c ?? ''] ?? 'c-1', /cursor "c-1" again, after page 4/],
  ];
  it.each(chains)('ends a run whose API %s, non-retryably, naming the cursor', async (_what, next, message) => {
    const api = await serve((r, res) => {
      const cursor = new URL(r.url ?? '/', 'http://x').searchParams.get('cursor');
      res.writeHead(200, { 'content-type': 'application/json' }).end(page(1, next(cursor)));
    });
    const seen: number[] = [];
    const err = await (async () => {
      for await (const p of windowPages(api, req, { page: 1, cursor: null }, hooks)) seen.push(p.number);
    })().catch((e: unknown) => e);
    expect(String(err)).toMatch(message);
    expect(String(err)).toMatch(/would serve the same pages again/);
    expect(classifyError(err)).toEqual({ retryable: false, type: 'BadData' });
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
    expect(requests).toBe(seen.length + 1);
  });

  it('counts a resumed run\'s starting cursor as seen', async () => {
    const api = await serve((_r, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(page(1, 'c-7')));
    const err = await (async () => {
      for await (const _p of windowPages(api, req, { page: 8, cursor: 'c-7' }, hooks)) { /* loaded by the caller */ }
    })().catch((e: unknown) => e);
    expect(String(err)).toMatch(/cursor "c-7" again, after page 8/);
    expect(requests).toBe(1);
  });

  it('bounds the pages of one run, even when every cursor is new', async () => {
    let n = 0;
    const api = { ...(await serve((_r, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(page(1, `c-${++n}`)))), maxPages: 5 };
    const seen: number[] = [];
    const err = await (async () => {
      for await (const p of windowPages(api, req, { page: 1, cursor: null }, hooks)) seen.push(p.number);
    })().catch((e: unknown) => e);
    expect(String(err)).toMatch(/still has a next_cursor after page 5, the most one run reads/);
    expect(classifyError(err)).toEqual({ retryable: false, type: 'BadData' });
    expect(seen).toEqual([1, 2, 3, 4]);
  });
});
