/**
 * `etl dashboard`: a small HTTP server (node:http, no framework) for the analysts' pages. It reads
 * the analytics database as etl_analyst, so names stay masked and only what that role is granted is
 * visible, and the staging database's etl.loads and etl.alerts for the health page. Both pools are
 * read-only sessions with a statement timeout. Only GET and HEAD; identifiers never come from the
 * request, every value is a query parameter.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Pool } from 'pg';
import { toCsv, type Cell } from './csv';
import { dayNumber, MAX_RANGE_DAYS, parseFilters, resolveRange, type Filters } from './filters';
import { PAGES, panelById, panelsOf, type PageId, type Panel } from './panels';
import { renderPage, renderTable, type PanelResult, type TemporalUi } from './render';

/** A row per workflow execution matching a Temporal visibility query (the workflow-runs panel). */
export type ListRuns = (query: string) => Promise<Array<Record<string, unknown>>>;

export interface DashboardDeps {
  analytics: Pool;
  staging: Pool;
  /** Absent: the Temporal panels say that the dashboard has no Temporal connection. */
  listRuns?: ListRuns;
  temporalUi: TemporalUi;
  log?: (line: string) => void;
}

const RUN_COLUMNS = ['workflow_id', 'run_id', 'type', 'status', 'started', 'closed', 'pipeline'];
const NUMERIC_TYPES = new Set([20, 21, 23, 700, 701, 1700]); // int8, int2, int4, float4, float8, numeric

function asset(name: string): { body: Buffer; type: string } {
  const file = name === 'echarts.min.js' ? require.resolve('echarts/dist/echarts.min.js') : path.join(__dirname, 'assets', name);
  return { body: readFileSync(file), type: name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8' };
}

export function createDashboard(deps: DashboardDeps): Server {
  const log = deps.log ?? ((line: string) => console.error(line));
  const assets = new Map(['echarts.min.js', 'dashboard.js', 'dashboard.css'].map((n) => [n, asset(n)]));

  async function runPanel(p: Panel, f: Filters): Promise<PanelResult & { numeric: Set<string> }> {
    const t = performance.now();
    try {
      if (p.db === 'temporal') {
        if (!deps.listRuns) throw new Error('the dashboard has no Temporal connection');
        // The visibility query's $n are times the panel computes, never request values.
        const query = p.params(f).reduce<string>((q, v, i) => q.replace(`$${i + 1}`, `'${String(v).replace(/[^0-9TZ:.-]/g, '')}'`), p.sql);
        const rows = await deps.listRuns(query);
        return { panel: p, columns: RUN_COLUMNS, rows, ms: performance.now() - t, numeric: new Set() };
      }
      const res = await (p.db === 'staging' ? deps.staging : deps.analytics).query({ text: p.sql, values: p.params(f) });
      const columns = res.fields.map((x) => x.name);
      const numeric = new Set(res.fields.filter((x) => NUMERIC_TYPES.has(x.dataTypeID)).map((x) => x.name));
      return { panel: p, columns, rows: res.rows as Array<Record<string, unknown>>, ms: performance.now() - t, numeric };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log(`dashboard: panel ${p.id} failed: ${message}`);
      return { panel: p, columns: [], rows: [], error: message, ms: performance.now() - t, numeric: new Set() };
    }
  }

  /** The filters of a request with the defaults filled in, or the problems to show. */
  async function filtersOf(q: URLSearchParams): Promise<{ filters: Filters | null; problems: string[]; notices: string[] }> {
    const parsed = parseFilters(q);
    if (parsed.problems.length) return { filters: null, problems: parsed.problems, notices: [] };
    const { rows } = await deps.analytics.query<{ first: string | null; last: string | null }>(
      `select min(order_date)::text as first, max(order_date)::text as last from sales_daily_segment where category = '*' and country = '*'`);
    const first = rows[0]?.first ?? null;
    const last = rows[0]?.last ?? null;
    const range = resolveRange(parsed, last ?? new Date().toISOString().slice(0, 10));
    if (dayNumber(range.to) - dayNumber(range.from) + 1 > MAX_RANGE_DAYS) {
      return { filters: null, problems: [`The range from ${range.from} to ${range.to} (to the newest data) is longer than ${MAX_RANGE_DAYS} days: give both ends.`], notices: [] };
    }
    const notices: string[] = [];
    if (!last || !first) notices.push('There are no orders in the analytics database yet: run the pipeline (npm run demo) or a backfill first.');
    else if (range.to < first || range.from > last) notices.push(`No orders between ${range.from} and ${range.to}: the data covers ${first} to ${last}.`);
    return { filters: { ...range, category: parsed.category, country: parsed.country }, problems: [], notices };
  }

  async function choices(): Promise<{ categories: string[]; countries: string[] }> {
    const [c, k] = await Promise.all([
      deps.analytics.query<{ v: string }>(`select distinct category as v from sales_daily_segment where country = '*' and category <> '*' order by 1`),
      deps.analytics.query<{ v: string }>(`select distinct country as v from sales_daily_segment where category = '*' and country <> '*' order by 1`),
    ]);
    return { categories: c.rows.map((r) => r.v), countries: k.rows.map((r) => r.v) };
  }

  async function page(res: ServerResponse, id: PageId, q: URLSearchParams): Promise<void> {
    const [{ filters, problems, notices }, lists] = await Promise.all([filtersOf(q), choices()]);
    const panels = panelsOf(id);
    const results = filters ? await Promise.all(panels.map((p) => runPanel(p, filters)))
      : panels.every((p) => p.uses.length === 0) ? await Promise.all(panels.map((p) => runPanel(p, { from: '', to: '', category: null, country: null }))) : [];
    const form = { from: q.get('from') ?? filters?.from ?? '', to: q.get('to') ?? filters?.to ?? '', category: q.get('category') ?? '', country: q.get('country') ?? '' };
    const html = renderPage({ page: id, filters, form, problems, notices, ...lists, results, temporalUi: deps.temporalUi });
    send(res, problems.length ? 400 : 200, 'text/html; charset=utf-8', html);
  }

  async function panelData(res: ServerResponse, id: string, q: URLSearchParams, csv: boolean): Promise<void> {
    const p = panelById(id);
    if (!p) return send(res, 404, 'text/plain; charset=utf-8', `no panel ${id}\n`);
    const { filters, problems } = await filtersOf(q);
    if (!filters) return send(res, 400, 'application/json', JSON.stringify({ problems }));
    const r = await runPanel(p, filters);
    if (csv) {
      if (r.error) return send(res, 500, 'text/plain; charset=utf-8', `${r.error}\n`);
      res.setHeader('Content-Disposition', `attachment; filename="${p.id}_${filters.from}_${filters.to}.csv"`);
      return send(res, 200, 'text/csv; charset=utf-8', toCsv(r.columns, r.rows as Array<Record<string, Cell>>, r.numeric));
    }
    send(res, r.error ? 500 : 200, 'application/json', JSON.stringify({ columns: r.columns, rows: r.rows, error: r.error, ms: r.ms, table: renderTable(r, deps.temporalUi) }));
  }

  function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
    res.statusCode = status;
    res.setHeader('Content-Type', type);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'");
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'only GET\n');
    const url = new URL(req.url ?? '/', 'http://dashboard.local');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts.length === 0) {
      res.statusCode = 302;
      res.setHeader('Location', `/overview${url.search}`);
      return void res.end();
    }
    const [head, tail] = parts;
    if (parts.length === 1 && PAGES.some((p) => p.id === head)) return page(res, head as PageId, url.searchParams);
    if (head === 'assets' && tail && parts.length === 2 && assets.has(tail)) {
      const a = assets.get(tail)!;
      return send(res, 200, a.type, a.body);
    }
    if (head === 'api' && parts[1] === 'panel' && parts[2] && parts.length === 3) return panelData(res, parts[2], url.searchParams, false);
    if (head === 'export' && tail?.endsWith('.csv') && parts.length === 2) return panelData(res, tail.slice(0, -4), url.searchParams, true);
    if (head === 'healthz') return send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
    if (head === 'favicon.ico') {
      res.statusCode = 204;
      return void res.end();
    }
    send(res, 404, 'text/plain; charset=utf-8', `no page ${url.pathname}; the pages are ${PAGES.map((p) => `/${p.id}`).join(', ')}\n`);
  }

  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      log(`dashboard: ${req.method} ${req.url}: ${message}`);
      if (!res.headersSent) send(res, 503, 'text/plain; charset=utf-8', `The dashboard could not read the database: ${message}\n`);
      else res.end();
    });
  });
}
