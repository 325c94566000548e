/**
 * The orders API fuzzed: the real extractOrders activity (MockActivityEnvironment gives it its
 * context) against fuzz-orders-api.ts servers. One run pages through fuzzed versions; each hostile
 * server is a run of its own, all at once, each with a deadline and the ending it must have.
 */
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../activities';
import type { OrdersApi } from '../../activities/orders/client';
import type { ExtractOrdersOutput } from '../../activities/orders';
import { safeName } from '../../lib/lake';
import { deletePrefix } from '../../lib/s3';
import { jsonItems, type Item } from './fuzz-json';
import { emptyReport, reconcile, type LoadFacts, type ReceivedRecord, type SourceReport } from './fuzz-ledger';
import { hostileHandler, pageBody, pagesHandler, startFuzzApi, type Handler } from './fuzz-orders-api';
import type { SourceRunOptions } from './fuzz-run-files';
import { activityEnv, dropLoads, errorText, loadFacts, seconds, withDeadline, type FuzzEnv } from './fuzz-run';
import { ordersSpec } from './fuzz-sources';

interface Hostile { kind: string; ends: RegExp | 'ok'; permanent?: boolean; pages: number; api?: Partial<OrdersApi> }
export const HOSTILE: Hostile[] = [
  { kind: 'endless cursor', ends: /still has a next_cursor after page 20/, permanent: true, pages: 19, api: { maxPages: 20 } },
  { kind: 'repeating cursor', ends: /handed out cursor "c2" again, after page 3/, permanent: true, pages: 2 },
  { kind: 'slow loris, a byte a second', ends: /failed 5 times.*(abort|timeout)/i, pages: 0, api: { timeoutMs: 1500 } },
  { kind: 'slow loris, no headers', ends: /failed 5 times.*(abort|timeout)/i, pages: 0, api: { timeoutMs: 1500 } },
  { kind: 'slow but in time', ends: 'ok', pages: 1, api: { timeoutMs: 5000 } },
  { kind: 'HTML with 200', ends: /200 with a body that is not JSON.*text\/html.*expected JSON/, permanent: true, pages: 0 },
  { kind: 'JSON cut short', ends: /200 with a body that is not JSON/, permanent: true, pages: 0 },
  { kind: 'not a page', ends: /200 with JSON that is not a page/, permanent: true, pages: 0 },
  { kind: '10,000-deep body', ends: /200 with JSON that is not a page/, permanent: true, pages: 0 },
  { kind: 'body past the cap', ends: /over the cap of 1048576 bytes/, permanent: true, pages: 0, api: { maxBodyBytes: 1 << 20 } },
  { kind: 'Content-Length of 100 GiB', ends: /Content-Length 107374182400/, permanent: true, pages: 0 },
];

export interface OrdersRunOptions extends SourceRunOptions {
  pageSize: number;
  /** Pages per run of the fuzzed versions (default 5). */
  chainPages?: number;
  realCap?: boolean;
}

export async function fuzzOrdersRun(env: FuzzEnv, o: OrdersRunOptions): Promise<{ report: SourceReport; cleanUp(): Promise<void> }> {
  const began = performance.now();
  const report = emptyReport('orders');
  const { staging } = env.deps;
  const prefix = `fuzz-orders/${o.tag}`;
  const window = { partitionStart: `${o.era}-01-01T00:00:00.000Z`, partitionEnd: `${o.era}-01-01T00:10:00.000Z`, backfill: true };
  const valid = jsonItems(ordersSpec(o.era), { seed: o.seed, tag: `${o.tag}v`, bad: 1_000_000, validPerBad: 1_000_000 });
  const nextValid = (): Item => {
    for (;;) {
      const it = valid.next().value as Item;
      if (it.role === 'valid') return it;
    }
  };
  const served: Array<{ workflowId: string; page: number; items: Item[] }> = [];

  /** One extractOrders run against `handler`; `pages` of `items` are what it must load. */
  const run = async (name: string, handler: Handler, ends: RegExp | 'ok', permanent: boolean, api: Partial<OrdersApi>, holds = '') => {
    const server = await startFuzzApi(handler);
    const workflowId = `${prefix}/${safeName(name)}`;
    const acts = createActivities({ ...env.deps, ordersApi: { url: server.url, token: 'fuzz', pageSize: o.pageSize, timeoutMs: 10_000, ...api } });
    const t = performance.now();
    try {
      const out = (await withDeadline(name, o.deadlineMs, activityEnv().run(acts.extractOrders, { ...window, workflowId }))) as ExtractOrdersOutput;
      report.scenarios.push({ name, seconds: seconds(t), outcome: `${out.pages} pages, ${server.requests()} requests`, ok: ends === 'ok' });
      if (ends !== 'ok') report.violations.push(`${name}: finished with ${out.pages} pages, expected to end with ${ends}`);
    } catch (err) {
      const text = errorText(err);
      const ok = ends !== 'ok' && ends.test(text) && (err instanceof ApplicationFailure && err.nonRetryable) === permanent;
      report.scenarios.push({ name, seconds: seconds(t), outcome: `${permanent ? 'non-retryable' : 'retryable'} after ${server.requests()} requests: ${text}`, ok });
      if (!ok) report.violations.push(`${name}: ended with ${err instanceof ApplicationFailure && err.nonRetryable ? 'a non-retryable' : 'a retryable'} ${text}${holds}`);
    } finally {
      await server.close();
    }
    return workflowId;
  };

  // The fuzzed versions, a page at a time, in chains of a few pages: each chain is one run (one
  // partition), so a page that fails its run costs that chain only, and the rest is still judged.
  const items = [...jsonItems(ordersSpec(o.era), { seed: o.seed, tag: o.tag, bad: o.bad })].filter((i) => !o.exclude?.test(i.kind));
  const chains: Array<{ name: string; pages: Buffer[]; holds: string }> = [];
  const perChain = o.pageSize * (o.chainPages ?? 5);
  for (let c = 0; c * perChain < items.length; c++) {
    const chain = items.slice(c * perChain, (c + 1) * perChain);
    const name = `records ${c + 1}`;
    const pages: Buffer[] = [];
    for (let i = 0, n = 1; i < chain.length; i += o.pageSize, n++) {
      const page = chain.slice(i, i + o.pageSize);
      pages.push(pageBody(page.map((p) => p.bytes), i + o.pageSize < chain.length ? `c${n + 1}` : null));
      served.push({ workflowId: `${prefix}/${safeName(name)}`, page: n, items: page.map((p) => ({ ...p, bytes: Buffer.alloc(0) })) });
    }
    const kinds = [...new Set(chain.filter((i) => i.role === 'bad').map((i) => i.kind))];
    chains.push({ name, pages, holds: ` (its bad records: ${kinds.slice(0, 12).join('; ')}${kinds.length > 12 ? '; …' : ''})` });
  }
  const hostile = o.realCap ? [...HOSTILE, { kind: 'body past the real 64 MiB cap', ends: /over the cap of 67108864 bytes/, permanent: true, pages: 0 }] : HOSTILE;
  const queue = [...chains];
  const chainWorker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) await run(c.name, pagesHandler(c.pages), 'ok', false, {}, c.holds);
  };
  await Promise.all([
    // One chain at a time: a duplicate's original is then always loaded first, as in a real run.
    chainWorker(),
    ...hostile.map(async (h) => {
      const bodies = new Map<number, Item[]>();
      const page = (n: number, next: string | null) => {
        if (!bodies.has(n)) bodies.set(n, [nextValid(), nextValid()]);
        return pageBody((bodies.get(n) as Item[]).map((b) => b.bytes), next);
      };
      const over = h.kind.includes('64 MiB') ? (64 << 20) + (1 << 20) : 3 << 20;
      const kind = h.kind.includes('64 MiB') ? 'body past the cap' : h.kind;
      const workflowId = await run(h.kind, hostileHandler(kind, page, over), h.ends, h.permanent ?? false, h.api ?? {});
      for (let n = 1; n <= h.pages; n++) served.push({ workflowId, page: n, items: bodies.get(n) ?? [] });
    }),
  ]);

  const records: ReceivedRecord[] = [];
  const facts = new Map<string, LoadFacts>();
  for (const s of served) {
    const loadId = `${s.workflowId}/orders/page-${s.page}`;
    const { rows } = await staging.query<{ order_id: string; created_at: string; updated_at: string; lines: number }>(
      `select order_id, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD') created_at, to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD') updated_at,
         (select count(*)::int from staging.order_lines l where l.order_id = o.order_id and l.updated_at = o.updated_at) lines
       from staging.orders o where load_id = $1`, [loadId]);
    for (const r of rows) if (r.lines === 0) report.violations.push(`${loadId}: version ${r.order_id.slice(0, 60)} staged without its lines`);
    facts.set(loadId, await loadFacts(staging, loadId, rows.map((r) => ({ sref: r.order_id, dates: { created_at: r.created_at, updated_at: r.updated_at } })),
      (ref) => /^page-(\d+):(\d+)/.exec(ref)?.slice(1).join(':') ?? ref));
    s.items.forEach((it, i) => records.push({
      loadId, qref: `${s.page}:${i}`, sref: it.key, key: it.key, role: it.role, family: it.family, kind: it.kind, expect: it.expect, reason: it.reason,
      ...(it.date && it.field ? { dates: { [it.field]: it.date } } : {}),
    }));
  }
  const like = `${prefix}/%`;
  const { rows: keys } = await staging.query<{ order_id: string }>('select order_id from staging.orders where load_id like $1', [like]);
  reconcile(report, records, facts, new Set(keys.map((k) => k.order_id)));
  report.seconds = seconds(began);
  return {
    report,
    async cleanUp() {
      const { rows } = await staging.query<{ load_id: string }>('select load_id from etl.loads where load_id like $1', [like]);
      await staging.query('delete from staging.order_lines where load_id like $1', [like]);
      await staging.query('delete from staging.orders where load_id like $1', [like]);
      await dropLoads(staging, env.deps.s3, env.deps.bucket, rows.map((r) => r.load_id));
      for (const zone of ['raw', 'quarantine']) await deletePrefix(env.deps.s3, env.deps.bucket, `${zone}/orders/dt=${o.era}-01-01/${safeName(prefix)}`);
    },
  };
}
