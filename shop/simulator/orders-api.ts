/**
 * The shop's orders API (node:http): GET /orders pages through order versions, GET /health and
 * GET /stats. It answers any historical window, with faults injected at configured rates.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { encodeCursor } from './cursor';
import { FaultInjector, type FaultCounts, type FaultOptions } from './faults';
import type { OrdersIndex } from './orders-index';
import { parseOrdersQuery } from './orders-query';

/** `now` set = live/replay: versions updated after it are not visible yet. */
export interface OrdersApiOptions {
  index: OrdersIndex;
  token: string;
  port?: number;
  host?: string;
  faults?: FaultOptions;
  now?: () => number;
}

export interface OrdersApiStats { requests: number; byStatus: Record<string, number>; faults: FaultCounts; versionsServed: number; versionsIndexed: number }

export interface OrdersApi { url: string; port: number; stats(): OrdersApiStats; stop(): Promise<void> }

function sendJson(res: ServerResponse, status: number, body: string | object, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function authorised(req: IncomingMessage, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
  if (!m?.[1]) return false;
  const [given, want] = [Buffer.from(m[1]), Buffer.from(token)];
  // Constant time, so the token cannot be guessed byte by byte from response timings.
  return given.length === want.length && timingSafeEqual(given, want);
}

export async function startOrdersApi(o: OrdersApiOptions): Promise<OrdersApi> {
  const faults = new FaultInjector(o.faults);
  const stats = { requests: 0, byStatus: {} as Record<string, number>, versionsServed: 0 };
  const held = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
    timers.add(t);
  };
  const reply = (res: ServerResponse, status: number, body: string | object, headers?: Record<string, string>) => {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    sendJson(res, status, body, headers);
  };
  const snapshot = (): OrdersApiStats => ({ ...stats, byStatus: { ...stats.byStatus }, faults: { ...faults.counts }, versionsIndexed: o.index.size });

  const serveOrders = (url: URL, res: ServerResponse) => {
    const parsed = parseOrdersQuery(url.searchParams);
    if (!parsed.ok) return reply(res, 400, { error: 'invalid_parameter', parameter: parsed.parameter, message: parsed.message });
    const page = o.index.page({ ...parsed.query, visibleUntil: o.now ? o.now() : 8.64e15 });
    stats.versionsServed += page.versions.length;
    // Concatenating the stored lines sends each version exactly as the dataset has it.
    const next = page.next ? JSON.stringify(encodeCursor(page.next)) : 'null';
    reply(res, 200, `{"data":[${page.versions.map((v) => v.raw).join(',')}],"next_cursor":${next}}`);
  };

  const server = createServer((req, res) => {
    stats.requests++;
    const url = new URL(req.url ?? '/', 'http://orders.local');
    if (req.method !== 'GET') return reply(res, 405, { error: 'method_not_allowed', message: 'only GET is supported' }, { allow: 'GET' });
    if (url.pathname === '/health') return reply(res, 200, { status: 'ok', versions: o.index.size });
    if (url.pathname === '/stats') return reply(res, 200, snapshot());
    if (url.pathname !== '/orders') return reply(res, 404, { error: 'not_found', message: `no route ${url.pathname}; use GET /orders` });
    if (!authorised(req, o.token)) {
      return reply(res, 401, { error: 'unauthorized', message: 'send Authorization: Bearer <ORDERS_API_TOKEN>' }, { 'www-authenticate': 'Bearer' });
    }
    const fault = faults.next();
    switch (fault.kind) {
      case 'rate_limited':
        return reply(res, 429, { error: 'rate_limited', message: `retry after ${fault.retryAfterSeconds}s` }, { 'retry-after': String(fault.retryAfterSeconds) });
      case 'server_error':
        return reply(res, fault.status, { error: 'server_error', message: `injected ${fault.status}` });
      case 'slow':
        return later(fault.delayMs, () => serveOrders(url, res));
      case 'timeout':
        held.add(req.socket);
        return later(fault.holdMs, () => { held.delete(req.socket); req.socket.destroy(); });
      case 'none':
        return serveOrders(url, res);
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const hint = err.code === 'EADDRINUSE' ? `; port ${o.port} is taken (another etl shop serve?): pass --port, set ETL_ORDERS_API_PORT, or port 0` : '';
      reject(new Error(`orders API cannot listen: ${err.message}${hint}`));
    });
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${o.host ?? '127.0.0.1'}:${port}`,
    port,
    stats: snapshot,
    stop: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of held) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
