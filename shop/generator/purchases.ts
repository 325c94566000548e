import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { csvRow } from '../dataset/csv';
import { FILES, PURCHASE_COLUMNS, purchaseFileName } from '../../contract/layout';
import type { Manifest } from '../../contract/manifest';
import { formatCents, priceAt, type Catalog } from './catalog';
import { pickActiveUser, type ChurnPlan } from './churn';
import { LineWriter } from './line-writer';
import { Rng } from './prng';
import { plantPurchaseDefect, type PurchaseCells } from './purchase-defects';
import type { DefectRates, Tally } from './tally';
import { userId } from './users';

const DAY = 86_400_000;
/** The mid-range export change: Quantity renamed to Qty and a Currency column appended. */
const RENAMED = { Quantity: 'Qty' };
const ADDED = ['Currency'];

export interface PurchaseInput { dir: string; seed: number; scale: number; from: number; days: number; users: number; catalog: Catalog; rates: DefectRates; tally: Tally; churn: ChurnPlan }

/**
 * Historical orders from before the API, one CSV and one JSON-lines file per day (different orders
 * in each), named by their date. Order ids are `H…`, never colliding with the API's `O…`.
 */
export async function writePurchases(input: PurchaseInput): Promise<Manifest['schemaChange']> {
  const { dir, seed, scale, from, days, users, catalog, rates, tally, churn } = input;
  mkdirSync(join(dir, FILES.purchases), { recursive: true });
  const rng = new Rng(seed, 'purchases');
  const dirt = new Rng(seed, 'purchases-dirt');
  const churnRng = new Rng(seed, 'churn/purchases');
  const changeDay = rates.schemaChange && days >= 2 ? Math.floor(days / 2) : -1;
  const changed: string[] = [];
  let orderNo = 500_001;
  for (let d = 0; d < days; d++) {
    const date = new Date(from + d * DAY).toISOString().slice(0, 10);
    const newSchema = changeDay >= 0 && d >= changeDay;
    const header: string[] = newSchema ? [...PURCHASE_COLUMNS.map((c) => (c === 'Quantity' ? RENAMED.Quantity : c)), ...ADDED] : [...PURCHASE_COLUMNS];
    const files = (['csv', 'jsonl'] as const).map((ext) => {
      const path = `${FILES.purchases}/${purchaseFileName(date, ext)}`;
      tally.row(path, 0);
      if (newSchema) changed.push(path);
      return { ext, path, out: new LineWriter(join(dir, path)), dups: [] as string[] };
    });
    await files[0]?.out.write(csvRow(header), false);
    const orders = Math.max(1, Math.round(1000 * scale * (0.8 + 0.4 * rng.next())));
    for (let o = 0; o < orders; o++) {
      const file = rng.chance(0.75) ? files[0] : files[1];
      if (!file) continue;
      // Judged at the day's end, so no churner's order is dated on or after the day of its churn moment.
      const customer = userId(pickActiveUser(rng, churnRng, users, seed, from + (d + 1) * DAY, churn));
      const orderId = `H${orderNo++}`;
      const seen = new Set<number>();
      const lines = rng.chance(0.6) ? 1 : rng.int(2, 4);
      for (let l = 0; l < lines; l++) {
        const idx = catalog.popularity.sample(rng);
        const p = catalog.products[idx];
        if (!p || seen.has(idx)) continue;
        seen.add(idx);
        const qty = rng.chance(0.7) ? 1 : rng.int(2, 5);
        const cents = priceAt(p, from + d * DAY);
        const cells: PurchaseCells = {
          CustomerID: customer, OrderID: orderId, OrderDate: date, ProductID: p.id, ProductName: p.name,
          Quantity: String(qty), Price: formatCents(cents), Total: formatCents(cents * qty),
        };
        const kind = plantPurchaseDefect(dirt, rates, cells);
        const values = [...PURCHASE_COLUMNS.map((c) => cells[c]), ...(newSchema ? ['USD'] : [])];
        let line: string;
        if (file.ext === 'csv') {
          if (kind === 'wrong_column_count') {
            if (dirt.chance(0.5)) values.pop();
            else values.push('extra');
          }
          line = csvRow(values);
        } else {
          const obj = Object.fromEntries(header.map((h, i) => [h, values[i] === '' ? null : values[i]]));
          line = JSON.stringify(obj) + '\n';
          if (kind === 'wrong_column_count') line = line.slice(0, Math.floor(line.length / 2)) + '\n';
        }
        if (kind) tally.defect(file.path, kind === 'wrong_column_count' && file.ext === 'jsonl' ? 'malformed_json' : kind);
        else if (dirt.chance(rates.purchaseDuplicate)) file.dups.push(line);
        tally.row(file.path);
        await file.out.write(line);
      }
    }
    for (const f of files) {
      // Re-exported lines arrive at the end of the same file, as a re-run export appends them.
      for (const line of f.dups) {
        tally.row(f.path);
        tally.defect(f.path, 'duplicate');
        await f.out.write(line);
      }
      await f.out.close();
    }
  }
  return changeDay >= 0 ? { from: new Date(from + changeDay * DAY).toISOString().slice(0, 10), renamed: RENAMED, added: ADDED, files: changed } : null;
}
