/**
 * extractOrders: pages through the orders API for one partition's window [start, end). Each page
 * is stored raw in the lake, then loaded as its own idempotent load `<workflowId>/orders/page-<n>`.
 * Heartbeat details carry the next page's number and cursor, so a retried attempt resumes after
 * the last committed page instead of starting over. A page whose content changed since its load
 * succeeded is loaded again under a new id (pageLoadId), so a rerun picks up late versions.
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import { BadDataError, rethrowClassified } from '../../lib/errors';
import { utcDate } from '../../lib/lake';
import type { LoadSummary, PartitionInput } from '../../contract/pipeline';
import { fetchOrdersPage, type ClientHooks, type FetchedPage, type OrdersApi, type RetryPolicy } from './client';
import { liveCursor, loadOrdersPage, pageLoadId } from './load';
import { writeRawText } from '../common/raw';
import { heartbeat } from '../common/heartbeat';

export const DEFAULT_PAGE_SIZE = 500;
// A 10-minute partition at the default 500 per page: 5 million versions, far above the shop's rate.
export const DEFAULT_MAX_PAGES = 10_000;

export interface OrdersDeps { staging: Pool; s3: S3Client; bucket: string; ordersApi: OrdersApi }

/** workflowId names the loads: the same partition run again reuses them and is skipped. */
export interface ExtractOrdersInput extends PartitionInput {
  workflowId: string;
  /** Where a handed-over run goes on (the `resume` of the previous activity's output). */
  resume?: OrdersProgress;
  /**
   * The caller goes on from a `resume` (workflows from the hand-over on pass true). Without it a
   * retry never hands over: a workflow of an older version would take a handed-over output for the
   * whole run, so a rolling deploy stays safe.
   */
  handOver?: boolean;
}
export interface ExtractOrdersOutput {
  loads: LoadSummary[]; pages: number; requests: number; rateLimited: number; failures: number;
  /**
   * Set when a retried attempt found that its predecessor had loaded pages (a worker killed mid-run):
   * the run is not over; the workflow calls extractOrders again from here, with a fresh retry budget.
   */
  resume?: OrdersProgress;
}

/**
 * What a retried attempt needs to resume: the page to fetch next and what was loaded before it;
 * `attemptFrom` is the page the attempt that heartbeated it started at.
 */
export interface OrdersProgress { page: number; cursor: string | null; loads: LoadSummary[]; requests: number; rateLimited: number; failures: number; attemptFrom?: number; done?: boolean }

function activityHooks(ctx: Context, progress: () => OrdersProgress): ClientHooks {
  return {
    heartbeat: () => ctx.heartbeat(progress()),
    signal: ctx.cancellationSignal,
    // Long waits (Retry-After) are cut into slices so the heartbeat timeout never fires meanwhile.
    async sleep(ms) {
      for (let left = ms; left > 0; left -= 5_000) {
        ctx.heartbeat(progress());
        await ctx.sleep(Math.min(left, 5_000));
      }
    },
  };
}

/** Where a run starts: the page number and its cursor (null: the window's first page). */
export interface PageStart { page: number; cursor: string | null }
export interface PageWindow { since: string; before: string; limit: number }

/**
 * The pages of a window from `from` on, each fetched when the caller asks for it. A cursor that
 * comes round again (the cursor just sent, or an earlier one) would serve the same pages forever,
 * so it ends the run, as does a chain longer than maxPages. Cursors are remembered per attempt; a
 * resumed attempt counts pages on from its heartbeat, so the page bound holds across attempts.
 */
export async function* windowPages(api: OrdersApi, w: PageWindow, from: PageStart, hooks: ClientHooks, policy?: RetryPolicy): AsyncGenerator<FetchedPage & { number: number }> {
  const maxPages = api.maxPages ?? DEFAULT_MAX_PAGES;
  const seen = new Set<string>();
  let { page, cursor } = from;
  for (;;) {
    if (cursor !== null) seen.add(cursor);
    const fetched = await fetchOrdersPage(api, { ...w, cursor }, hooks, policy);
    const next = fetched.page.next_cursor;
    const named = (c: string) => JSON.stringify(c.length > 120 ? `${c.slice(0, 120)}…` : c);
    if (next !== null && seen.has(next)) {
      throw new BadDataError(`orders API handed out cursor ${named(next)} again, after page ${page}: following it would serve the same pages again, `
        + `so the run stops; the API's paging is broken for window ${w.since}..${w.before}`);
    }
    if (next !== null && page >= maxPages) {
      throw new BadDataError(`orders API still has a next_cursor after page ${page}, the most one run reads (maxPages ${maxPages}; next ${named(next)}): `
        + `the cursor never ends, or the window holds more than ${maxPages * w.limit} versions; raise ORDERS_API_PAGE_SIZE, or the client's maxPages`);
    }
    yield { ...fetched, number: page };
    if (next === null) return;
    cursor = next;
    page++;
  }
}

export function createOrdersActivities(deps: OrdersDeps) {
  const lake = { s3: deps.s3, bucket: deps.bucket };
  return {
    async extractOrders(input: ExtractOrdersInput): Promise<ExtractOrdersOutput> {
      const ctx = Context.current();
      const since = new Date(input.partitionStart).toISOString();
      const before = new Date(input.partitionEnd).toISOString();
      const dt = utcDate(since);
      const resumed = ctx.info.heartbeatDetails as OrdersProgress | undefined;
      // The hand-over (see handOver in common/heartbeat.ts): Temporal counts attempts per activity,
      // so twenty worker kills during one long run would spend its budget although every attempt
      // loaded pages. A retry whose predecessor loaded pages ends at once and hands them back.
      const start = resumed ?? input.resume;
      // The window's last page was loaded (next_cursor null): the run is over, whoever asks.
      if (start?.done) return { loads: start.loads, pages: start.loads.length, requests: start.requests, rateLimited: start.rateLimited, failures: start.failures };
      if (input.handOver && ctx.info.attempt > 1 && resumed?.attemptFrom !== undefined && resumed.page > resumed.attemptFrom) {
        // The loads travel once, in `resume`.
        return { loads: [], pages: resumed.loads.length, requests: resumed.requests, rateLimited: resumed.rateLimited, failures: resumed.failures, resume: resumed };
      }
      let p: OrdersProgress = start ?? { page: 1, cursor: null, loads: [], requests: 0, rateLimited: 0, failures: 0 };
      p = { ...p, attemptFrom: p.page };
      const hooks = activityHooks(ctx, () => p);
      const limit = deps.ordersApi.pageSize ?? DEFAULT_PAGE_SIZE;
      try {
        for await (const fetched of windowPages(deps.ordersApi, { since, before, limit }, p, hooks)) {
          const sha256 = createHash('sha256').update(fetched.body).digest('hex');
          const loadId = await pageLoadId(deps.staging, `${input.workflowId}/orders/page-${p.page}`, sha256);
          await writeRawText(lake, { source: 'orders', dt, loadId }, fetched.body, 'json');
          const last = fetched.page.next_cursor === null;
          const summary = await loadOrdersPage(deps.staging, lake, {
            loadId, dt, partitionStart: since, partitionEnd: before, page: p.page, sha256, data: fetched.page.data,
            cursor: liveCursor(input, last),
          });
          p = {
            attemptFrom: p.attemptFrom, page: p.page + 1, cursor: fetched.page.next_cursor, loads: [...p.loads, summary], ...(last ? { done: true } : {}),
            requests: p.requests + fetched.requests, rateLimited: p.rateLimited + fetched.rateLimited, failures: p.failures + fetched.failures,
          };
          heartbeat(p); // a progress point: a cancelled attempt stops between pages
        }
      } catch (err) {
        rethrowClassified(err, `orders partition ${since}..${before}, page ${p.page} (workflow ${input.workflowId})`);
      }
      const { loads, requests, rateLimited, failures } = p;
      return { loads, pages: loads.length, requests, rateLimited, failures };
    },
  };
}

export type OrdersActivities = ReturnType<typeof createOrdersActivities>;
