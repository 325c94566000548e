/**
 * A hostile orders API of the fuzz suite's own, on 127.0.0.1: pages of fuzzed versions in the
 * shape `{"data":[...],"next_cursor":...}` (as bytes, so a page may hold invalid UTF-8), and
 * servers that misbehave as a whole: a cursor that never ends or comes round again, a body that
 * trickles in (slow loris) or never starts, HTML or cut-off JSON with status 200, a body past the cap.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (cursor: string | null, res: ServerResponse) => void;

export interface FuzzApi { url: string; requests(): number; close(): Promise<void> }

export async function startFuzzApi(handler: Handler): Promise<FuzzApi> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    handler(new URL(req.url ?? '/', 'http://x').searchParams.get('cursor'), res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** A page's bytes: the records as they are, joined into the envelope. */
export function pageBody(records: readonly Buffer[], next: string | null): Buffer {
  const parts: Buffer[] = [Buffer.from('{"data":[')];
  records.forEach((r, i) => parts.push(...(i ? [Buffer.from(','), r] : [r])));
  parts.push(Buffer.from(`],"next_cursor":${JSON.stringify(next)}}`));
  return Buffer.concat(parts);
}

const json = (res: ServerResponse, body: Buffer | string, headers: Record<string, string | number> = {}) => {
  res.writeHead(200, { 'content-type': 'application/json', ...headers });
  res.end(body);
};

/** Pages served by cursor: page 1 for no cursor, page n for `c<n>`. */
export function pagesHandler(pages: readonly Buffer[]): Handler {
  return (cursor, res) => json(res, pages[cursor ? Number(cursor.slice(1)) - 1 : 0] ?? pageBody([], null));
}

/** Whole-server misbehaviour; `page(n, next)` gives page n's valid body. */
export function hostileHandler(kind: string, page: (n: number, next: string | null) => Buffer, overBytes = 3 << 20): Handler {
  const n = (cursor: string | null) => (cursor ? Number(cursor.replace(/\D/g, '')) : 1);
  switch (kind) {
    case 'endless cursor': return (c, res) => json(res, page(n(c), `c${n(c) + 1}`));
    case 'repeating cursor': return (c, res) => json(res, page(n(c), n(c) === 3 ? 'c2' : `c${n(c) + 1}`));
    case 'slow loris, a byte a second': return (_c, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const body = page(1, null);
      let i = 0;
      const t = setInterval(() => (i < body.length ? res.write(body.subarray(i, ++i)) : res.end()), 1000);
      res.on('close', () => clearInterval(t));
    };
    case 'slow loris, no headers': return (_c, res) => { res.on('close', () => undefined); };
    case 'slow but in time': return (_c, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const body = page(1, null);
      const step = Math.ceil(body.length / 5);
      let i = 0;
      const t: NodeJS.Timeout = setInterval(() => { res.write(body.subarray(i, i + step)); i += step; if (i >= body.length) { clearInterval(t); res.end(); } }, 150);
    };
    case 'HTML with 200': return (_c, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html><body>Service temporarily unavailable</body></html>'); };
    case 'JSON cut short': return (_c, res) => { const b = page(1, null); json(res, b.subarray(0, b.length - 7)); };
    case 'not a page': return (_c, res) => json(res, '{"data":{"order_id":"x"},"next_cursor":5}');
    case '10,000-deep body': return (_c, res) => json(res, '['.repeat(10_000) + ']'.repeat(10_000));
    case 'body past the cap': return (_c, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1 << 16, 0x20);
      let sent = 0;
      const more = () => { while (sent < overBytes) { sent += chunk.length; if (!res.write(chunk)) return void res.once('drain', more); } res.end(); };
      more();
    };
    case 'Content-Length of 100 GiB': return (_c, res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': 100 * 2 ** 30 }); res.write('{"data":['); };
    default: throw new Error(`unknown hostile server ${kind}`);
  }
}
