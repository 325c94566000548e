/**
 * Server-side HTML of the dashboard's pages. Everything from the data or the request is escaped;
 * the charts are drawn in the browser by ECharts (served from the project's node_modules, no CDN)
 * from the same rows the panel's table shows, which are the rows of its SQL.
 */
import type { Config } from '../config';
import { workflowUiUrl } from '../lib/temporal';
import { filterQuery, type Filters } from './filters';

export type TemporalUi = Pick<Config, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'>;
import { PAGES, panelsOf, type PageId, type Panel } from './panels';

export interface PanelResult {
  panel: Panel;
  columns: string[];
  rows: Array<Record<string, unknown>>;
  /** Set when the query failed: shown in the panel instead of its numbers. */
  error?: string;
  ms: number;
}

export interface PageModel {
  page: PageId;
  filters: Filters | null;
  /** The raw values of the form's fields, shown back as typed. */
  form: Record<'from' | 'to' | 'category' | 'country', string>;
  problems: string[];
  notices: string[];
  categories: string[];
  countries: string[];
  results: PanelResult[];
  /** Where workflow ids link to (lib/temporal.ts workflowUiUrl). */
  temporalUi: TemporalUi;
}

export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A cell as text: what PostgreSQL sent (numerics and bigints as their exact text), null as empty. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString();
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

const FILTER_NAMES = { range: 'the date range', category: 'category', country: 'country' } as const;

function scopeNote(p: Panel, f: Filters | null): string {
  if (!f) return '';
  const set: Array<keyof typeof FILTER_NAMES> = ['range'];
  if (f.category) set.push('category');
  if (f.country) set.push('country');
  const ignored = set.filter((k) => !p.uses.includes(k));
  return ignored.length ? `<p class="scope">Not filtered by ${ignored.map((k) => FILTER_NAMES[k]).join(' or ')}.</p>` : '';
}

function temporalLink(ui: TemporalUi, workflowId: unknown, runId: unknown): string | null {
  if (typeof workflowId !== 'string' || workflowId === '' || workflowId === '-') return null;
  return workflowUiUrl(ui, workflowId, typeof runId === 'string' && runId !== '-' && runId !== '' ? runId : undefined);
}

export function renderTable(r: Pick<PanelResult, 'columns' | 'rows'>, ui: TemporalUi): string {
  const head = r.columns.map((c) => `<th scope="col">${esc(c)}</th>`).join('');
  const body = r.rows.map((row) => `<tr>${r.columns.map((c) => {
    const text = esc(cellText(row[c]));
    const href = c === 'workflow_id' ? temporalLink(ui, row[c], row.run_id) : null;
    return `<td data-col="${esc(c)}">${href ? `<a href="${esc(href)}" target="_blank" rel="noopener">${text}</a>` : text}</td>`;
  }).join('')}</tr>`).join('');
  return `<div class="table-wrap"><table class="data"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

/** A headline figure with thousands separators; the exact value is in the panel's table and CSV. */
function grouped(v: unknown): string {
  const text = cellText(v);
  const [whole = '', frac] = text.split('.');
  if (!/^-?\d+$/.test(whole)) return text;
  return `${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${frac === undefined ? '' : `.${frac}`}`;
}

function renderKpis(r: PanelResult): string {
  return `<div class="kpis">${r.rows.map((row) => {
    const change = row.change === null || row.change === undefined ? null : Number(row.change);
    const arrow = change === null ? '' : change > 0 ? 'up' : change < 0 ? 'down' : 'flat';
    const pct = change === null ? 'no previous value' : `${change > 0 ? '+' : ''}${(change * 100).toFixed(1)}%`;
    return `<div class="kpi"><span class="kpi-name">${esc(row.metric)}</span><span class="kpi-value">${esc(grouped(row.value))}</span>`
      + `<span class="kpi-change ${arrow}">${esc(pct)}</span><span class="kpi-prev">previous ${esc(grouped(row.previous))}</span></div>`;
  }).join('')}</div>`;
}

function renderPanel(r: PanelResult, m: PageModel, query: string): string {
  const p = r.panel;
  const attrs = `id="panel-${esc(p.id)}" data-panel="${esc(p.id)}"${p.refreshMs ? ` data-refresh="${p.refreshMs}"` : ''} data-query="${esc(query)}"`;
  const body = r.error
    ? `<p class="error" role="alert">This panel could not be loaded: ${esc(r.error)}</p>`
    : `${r.rows.length === 0 ? `<p class="empty">${esc(p.empty ?? 'No rows for these filters.')}</p>` : ''}`
      + (p.chart && r.rows.length ? `<div class="chart" role="img" aria-label="${esc(p.title)}" data-spec="${esc(JSON.stringify({ ...p.chart, columns: r.columns, rows: r.rows }))}"></div>` : '')
      + (p.kpis ? renderKpis(r) : '')
      + renderTable(r, m.temporalUi);
  return `<section class="panel${p.kpis ? ' wide' : ''}" ${attrs}>
<header><h2>${esc(p.title)}</h2><a class="csv" href="/export/${esc(p.id)}.csv${esc(query)}" download>CSV</a></header>
${scopeNote(p, m.filters)}${body}
<details class="definition"><summary>Definition</summary><p>${esc(p.definition)}</p><pre><code>${esc(p.sql)}</code></pre>
<p class="timing">${esc(r.ms.toFixed(0))} ms</p></details>
</section>`;
}

function options(values: string[], selected: string, allLabel: string): string {
  const list = selected && !values.includes(selected) ? [selected, ...values] : values;
  return `<option value="">${esc(allLabel)}</option>${list.map((v) => `<option value="${esc(v)}"${v === selected ? ' selected' : ''}>${esc(v)}</option>`).join('')}`;
}

export function renderPage(m: PageModel): string {
  const query = filterQuery(m.filters ?? {});
  const title = PAGES.find((p) => p.id === m.page)?.title ?? m.page;
  const nav = PAGES.map((p) => `<a href="/${p.id}${esc(query)}"${p.id === m.page ? ' aria-current="page"' : ''}>${esc(p.title)}</a>`).join('');
  const messages = [
    ...m.problems.map((t) => `<p class="problem" role="alert">${esc(t)}</p>`),
    ...m.notices.map((t) => `<p class="notice">${esc(t)}</p>`),
  ].join('');
  const panels = m.filters || panelsOf(m.page).every((p) => p.uses.length === 0) ? m.results.map((r) => renderPanel(r, m, query)).join('\n') : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · shop ETL dashboard</title><link rel="stylesheet" href="/assets/dashboard.css"></head>
<body data-page="${esc(m.page)}">
<header class="top"><h1>Shop ETL</h1><nav>${nav}</nav></header>
<form class="filters" method="get" action="/${esc(m.page)}">
<label>From <input type="date" name="from" value="${esc(m.form.from)}"></label>
<label>To <input type="date" name="to" value="${esc(m.form.to)}"></label>
<label>Category <select name="category">${options(m.categories, m.form.category, 'all categories')}</select></label>
<label>Country <select name="country">${options(m.countries, m.form.country, 'all countries')}</select></label>
<button type="submit">Apply</button> <a href="/${esc(m.page)}">Reset</a>
</form>
${messages}
<main>
${panels}
</main>
<footer>Read as the analyst role: names are masked and customers are pseudonyms. Every panel's numbers are its SQL's rows (Definition); CSV exports the same rows.</footer>
<script src="/assets/echarts.min.js"></script><script src="/assets/dashboard.js"></script>
</body></html>`;
}
