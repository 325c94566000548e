/**
 * Prepares a generated dataset folder for the metrics test: categories and countries get the test's
 * tag (so category and country rows of the shared database are the test's own), and a few defects
 * the generator does not plant are added, each one a rule of docs/transform.md to exercise.
 */
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';

const field = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const row = (cells: string[]) => cells.map(field).join(',') + '\n';
/** The tag goes after leading whitespace, so the dirt planted in the text stays as it was. */
const tagged = (tag: string, v: string) => (v.trim() === '' ? v : v.replace(/^(\s*)/u, `$1${tag}`));

function rewrite(path: string, column: string, tag: string, extra: (header: string[], rows: string[][]) => string[][]): void {
  const [header = [], ...rows] = parse(readFileSync(path, 'utf8'), { relax_column_count: true }) as string[][];
  const i = header.indexOf(column);
  const out = rows.map((r) => r.map((c, j) => (j === i ? tagged(tag, c) : c)));
  writeFileSync(path, [header, ...out, ...extra(header, out)].map(row).join(''));
}

/** The id with the most versions (ties: the smallest id) and a time after all of its versions. */
function mostVersioned(header: string[], rows: string[][], idCol: string): { id: string; after: string } {
  const [id, at] = [header.indexOf(idCol), header.indexOf('updated_at')];
  const count = new Map<string, number>();
  for (const r of rows) count.set(r[id]!, (count.get(r[id]!) ?? 0) + 1);
  const best = [...count].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
  const last = Math.max(...rows.filter((r) => r[id] === best).map((r) => Date.parse(r[at]!)));
  return { id: best, after: new Date(last + 60_000).toISOString() };
}

export interface Planted { blankProduct: string; blankUser: string; pricelessOrderEvent: string; inferredProduct: string; inferredUser: string }

export function prepareDataset(dir: string, tag: string): Planted {
  const planted: Planted = { blankProduct: '', blankUser: '', pricelessOrderEvent: 'EX1', inferredProduct: 'PX1', inferredUser: 'UX1' };
  // A newest product version with no name, category or price: all three are carried forward.
  rewrite(join(dir, 'products.csv'), 'category', tag, (header, rows) => {
    const { id, after } = mostVersioned(header, rows, 'product_id');
    planted.blankProduct = id;
    return [header.map((h) => (h === 'product_id' ? id : h === 'updated_at' ? after : ''))];
  });
  // A newest user version with no name, country or signup date: carried forward too.
  rewrite(join(dir, 'users.csv'), 'country', tag, (header, rows) => {
    const { id, after } = mostVersioned(header, rows, 'user_id');
    planted.blankUser = id;
    return [header.map((h) => (h === 'user_id' ? id : h === 'updated_at' ? after : ''))];
  });
  // An `order` event without order_id and price (allowed for any event name) in a session of its
  // own, and an unknown field.
  const order = readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n').map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      return null;
    }
  }).find((e) => e?.event_name === 'order' && typeof e.session_id === 'string' && typeof e.user_id === 'string');
  if (!order) throw new Error(`no order event in ${dir}/events.jsonl to copy`);
  appendFileSync(join(dir, 'events.jsonl'), JSON.stringify({ ...order, event_id: planted.pricelessOrderEvent, session_id: 'SX1', order_id: null, price: null, channel: 'app' }) + '\n');
  // A purchase line of a product and a customer the catalog never delivers: inferred dimension rows.
  const file = readdirSync(join(dir, 'purchases')).filter((f) => f.endsWith('.jsonl')).sort()[0];
  if (!file) throw new Error(`no purchases/*.jsonl in ${dir} to add a line to`);
  const date = String((JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { range: { purchasesStart: string } }).range.purchasesStart).slice(0, 10);
  appendFileSync(join(dir, 'purchases', file), JSON.stringify({
    CustomerID: planted.inferredUser, OrderID: 'HX1', OrderDate: date, ProductID: planted.inferredProduct, ProductName: '  Mystery   Gadget ', Quantity: '2', Price: '9.99', Total: '19.98',
  }) + '\n');
  return planted;
}
