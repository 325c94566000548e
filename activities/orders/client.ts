/**
 * The orders API client: one page per call, with the retries that belong inside an activity.
 * 429 waits Retry-After (heartbeating) and asks again; 5xx, timeouts and lost connections back off
 * exponentially a few times and then throw for Temporal to retry; 400/401/403/404 throw at once
 * with a message saying what to fix. A 200 that is not a page (a proxy's error page) is retried
 * like a 5xx, then fails for good; a body over maxBodyBytes fails for good at once. Sleeping and
 * heartbeating are injected so unit tests need no Temporal context.
 */
import { BadDataError, HttpError } from '../../lib/errors';
import { PAGE_SHAPE, readOrdersPage, type OrdersPage } from './validation';

/**
 * timeoutMs bounds each request, body included. maxBodyBytes caps one page's body and maxPages the
 * pages of one run (windowPages in orders.ts); DEFAULT_MAX_BODY_BYTES and DEFAULT_MAX_PAGES apply
 * when they are unset, as config/index.ts does not set them yet.
 */
export interface OrdersApi { url: string; token: string; timeoutMs?: number; pageSize?: number; maxBodyBytes?: number; maxPages?: number }
/** A window [since, before) and the cursor of the page wanted (null: the first page). */
export interface PageRequest { since: string; before: string; cursor: string | null; limit: number }
export interface FetchedPage { body: string; page: OrdersPage; requests: number; rateLimited: number; failures: number }
export interface ClientHooks { heartbeat(): void; sleep(ms: number): Promise<void>; signal?: AbortSignal }
export interface RetryPolicy { maxFailures: number; baseDelayMs: number; maxDelayMs: number; maxRetryAfterMs: number; maxRateLimitWaits: number }

export const DEFAULT_TIMEOUT_MS = 30_000;
// A version is ~0.5 KB and a page at most 1000 of them (ORDERS_API_PAGE_SIZE), so ~1 MB; 64 MiB
// leaves room for versions with hundreds of lines, yet keeps the few copies a page lives as (bytes,
// string, parsed rows, lake upload) well inside a worker's heap.
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;
// Only the start of an error answer is ever shown.
const ERROR_BODY_BYTES = 64 * 1024;
export const DEFAULT_POLICY: RetryPolicy = { maxFailures: 4, baseDelayMs: 500, maxDelayMs: 8_000, maxRetryAfterMs: 60_000, maxRateLimitWaits: 30 };

export function pageUrl(api: OrdersApi, r: PageRequest): string {
  // Relative to the base URL, so an API mounted under a path (https://host/v1) keeps it.
  const u = new URL('orders', api.url.endsWith('/') ? api.url : `${api.url}/`);
  u.searchParams.set('updated_since', r.since);
  u.searchParams.set('updated_before', r.before);
  u.searchParams.set('limit', String(r.limit));
  if (r.cursor !== null) u.searchParams.set('cursor', r.cursor);
  return u.toString();
}

/** Retry-After in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const bytes = (n: number) => (n >= 2 ** 20 ? `${n} bytes (${+(n / 2 ** 20).toFixed(1)} MiB)` : `${n} bytes`);

/** The body as text, or only its first KiB with `over` when it has more than `max` bytes (the rest is not read). */
async function readCapped(res: Response, max: number): Promise<{ text: string; over: boolean }> {
  if (!res.body) return { text: '', over: false };
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: new TextDecoder().decode(Buffer.concat(chunks)), over: false };
    size += value.byteLength;
    chunks.push(value);
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return { text: new TextDecoder().decode(Buffer.concat(chunks).subarray(0, 1024)), over: true };
    }
  }
}

function rejection(status: number, body: string, api: OrdersApi): string {
  let detail = body.slice(0, 300);
  try {
    const j = JSON.parse(body) as { message?: unknown; parameter?: unknown };
    if (typeof j.message === 'string') detail = typeof j.parameter === 'string' ? `${j.parameter}: ${j.message}` : j.message;
  } catch { /* not JSON: keep the text */ }
  switch (status) {
    case 401: return 'orders API rejected the token (401): set ORDERS_API_TOKEN to a valid bearer token';
    case 403: return 'orders API refused access (403): the token in ORDERS_API_TOKEN may not read orders';
    case 404: return `orders API has no /orders at ${api.url} (404): check ORDERS_API_URL`;
    case 400: return `orders API rejected the request (400), ${detail}; the client sent parameters the API does not accept`;
    default: return `orders API answered ${status}: ${detail}`;
  }
}

export async function fetchOrdersPage(api: OrdersApi, req: PageRequest, hooks: ClientHooks, policy: RetryPolicy = DEFAULT_POLICY): Promise<FetchedPage> {
  const url = pageUrl(api, req);
  const where = `GET ${url.replace(/cursor=[^&]+/, 'cursor=…')}`;
  const maxBytes = api.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const tooLarge = (how: string) => new BadDataError(`${where} answered 200 with a body over the cap of ${bytes(maxBytes)} (${how}); `
    + `lower ORDERS_API_PAGE_SIZE (this request asked for ${req.limit} versions) so that a page fits, or raise the client's maxBodyBytes`);
  const backoff = (n: number) => Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
  let requests = 0;
  let rateLimited = 0;
  let failures = 0;
  for (;;) {
    hooks.heartbeat();
    requests++;
    let status: number;
    let body: string;
    let retryAfter: string | null;
    let contentType: string | null;
    // A slow answer must not look like a dead worker: keep heartbeating while waiting for it.
    const beat = setInterval(() => hooks.heartbeat(), 5_000);
    try {
      const timeout = AbortSignal.timeout(api.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      const signal = hooks.signal ? AbortSignal.any([timeout, hooks.signal]) : timeout;
      const res = await fetch(url, { headers: { authorization: `Bearer ${api.token}`, accept: 'application/json' }, signal });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      contentType = res.headers.get('content-type');
      const declared = Number(res.headers.get('content-length'));
      if (status === 200 && declared > maxBytes) {
        await res.body?.cancel().catch(() => undefined);
        throw tooLarge(`Content-Length ${declared}`);
      }
      // The timeout's signal also aborts this read, so a body that trickles in ends with it too.
      const read = await readCapped(res, status === 200 ? maxBytes : ERROR_BODY_BYTES);
      if (status === 200 && read.over) throw tooLarge('reading stopped there');
      body = read.text;
    } catch (err) {
      if (err instanceof BadDataError) throw err;
      if (hooks.signal?.aborted) throw err;
      if (++failures > policy.maxFailures) {
        throw new Error(`${where} failed ${failures} times, last: ${err instanceof Error ? err.message : String(err)}; is the API up and answering within ${api.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms?`);
      }
      await hooks.sleep(backoff(failures));
      continue;
    } finally {
      clearInterval(beat);
    }
    if (status === 200) {
      const read = readOrdersPage(body, contentType);
      if (read.ok) return { body, page: read.page, requests, rateLimited, failures };
      // Proxies answer 200 with an error page during a blip: retry it as a 5xx, but an API that keeps
      // sending something else (a login page, another service) will not change on Temporal's retries.
      if (++failures > policy.maxFailures) {
        const hint = /json/i.test(contentType ?? '') ? '' : '; a web page here usually means ORDERS_API_URL points at a site or proxy, not the orders API';
        throw new BadDataError(`${where} failed ${failures} times, the last a 200 with ${read.problem}; expected ${PAGE_SHAPE}${hint}`);
      }
      await hooks.sleep(backoff(failures));
      continue;
    }
    if (status === 429) {
      const wait = retryAfterMs(retryAfter) ?? backoff(rateLimited + 1);
      if (++rateLimited > policy.maxRateLimitWaits || wait > policy.maxRetryAfterMs) {
        throw new HttpError(`${where} still rate limited (429) after ${rateLimited} waits; Temporal retries after Retry-After`, 429, wait);
      }
      await hooks.sleep(wait);
      continue;
    }
    if (status >= 500 || status === 408) {
      if (++failures > policy.maxFailures) throw new HttpError(`${where} answered ${status} ${failures} times: ${body.slice(0, 200)}`, status);
      await hooks.sleep(backoff(failures));
      continue;
    }
    throw new HttpError(rejection(status, body, api), status);
  }
}
