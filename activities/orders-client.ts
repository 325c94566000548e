/**
 * The orders API client: one page per call, with the retries that belong inside an activity.
 * 429 waits Retry-After (heartbeating) and asks again; 5xx, timeouts and lost connections back off
 * exponentially a few times and then throw for Temporal to retry; 400/401/403/404 throw at once
 * with a message saying what to fix. Sleeping and heartbeating are injected so unit tests need no
 * Temporal context.
 */
import { BadDataError, HttpError } from '../lib/errors';
import { ordersPageSchema, describeIssues, type OrdersPage } from './orders-parse';

export interface OrdersApi { url: string; token: string; timeoutMs?: number; pageSize?: number }
/** A window [since, before) and the cursor of the page wanted (null: the first page). */
export interface PageRequest { since: string; before: string; cursor: string | null; limit: number }
export interface FetchedPage { body: string; page: OrdersPage; requests: number; rateLimited: number; failures: number }
export interface ClientHooks { heartbeat(): void; sleep(ms: number): Promise<void>; signal?: AbortSignal }
export interface RetryPolicy { maxFailures: number; baseDelayMs: number; maxDelayMs: number; maxRetryAfterMs: number; maxRateLimitWaits: number }

export const DEFAULT_TIMEOUT_MS = 30_000;
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
    // A slow answer must not look like a dead worker: keep heartbeating while waiting for it.
    const beat = setInterval(() => hooks.heartbeat(), 5_000);
    try {
      const timeout = AbortSignal.timeout(api.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      const signal = hooks.signal ? AbortSignal.any([timeout, hooks.signal]) : timeout;
      const res = await fetch(url, { headers: { authorization: `Bearer ${api.token}`, accept: 'application/json' }, signal });
      body = await res.text();
      status = res.status;
      retryAfter = res.headers.get('retry-after');
    } catch (err) {
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
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw new BadDataError(`${where} answered 200 with a body that is not JSON: ${body.slice(0, 200)}`);
      }
      const page = ordersPageSchema.safeParse(json);
      if (!page.success) throw new BadDataError(`${where} answered 200 with a body that is not a page {data, next_cursor}: ${describeIssues(page.error)}`);
      return { body, page: page.data, requests, rateLimited, failures };
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
