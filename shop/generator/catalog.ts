import { join } from 'node:path';
import { csvRow } from '../dataset/csv';
import { FILES, PRODUCTS_COLUMNS } from '../../contract/layout';
import { LineWriter } from './line-writer';
import { ADJECTIVES, CATEGORIES, NOUNS } from './names';
import { Rng, Weighted, zipfWeights } from './prng';
import type { DefectRates, Tally } from './tally';
import { dirtyText } from './text-defects';

export interface Product {
  id: string;
  name: string;
  category: string;
  /** Price history in cents, oldest first; `from` in epoch ms. */
  prices: Array<{ from: number; cents: number }>;
}

export interface Catalog {
  products: Product[];
  /** Zipf popularity over a shuffled order, so the bestseller is not always the first id. */
  popularity: Weighted;
}

export function productCount(scale: number): number {
  return Math.min(20_000, Math.max(20, Math.round(500 * scale)));
}

export function priceAt(p: Product, ts: number): number {
  let cents = p.prices[0]?.cents ?? 0;
  for (const step of p.prices) if (step.from <= ts) cents = step.cents;
  return cents;
}

export const formatCents = (cents: number): string => `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;

/** Builds the catalogue (kept in memory: it is small and every order needs it) and writes products.csv. */
export async function writeCatalog(dir: string, seed: number, scale: number, since: number, start: number, end: number, rates: DefectRates, tally: Tally): Promise<Catalog> {
  const rng = new Rng(seed, 'catalog');
  const dirt = new Rng(seed, 'catalog-dirt');
  const n = productCount(scale);
  const products: Product[] = [];
  for (let i = 0; i < n; i++) {
    const base = rng.int(300, 25_000);
    const prices = [{ from: since - rng.int(1, 60) * 86_400_000, cents: base }];
    // Some prices change during the API range, so products.csv has several versions of them.
    if (rng.chance(0.3)) prices.push({ from: start + Math.floor(rng.next() * (end - start)), cents: Math.round(base * (0.8 + rng.next() * 0.4)) });
    products.push({ id: `P${1001 + i}`, name: `${rng.pick(ADJECTIVES)} ${rng.pick(NOUNS)} ${i + 1}`, category: rng.pick(CATEGORIES), prices });
  }
  const order = products.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const weights = zipfWeights(n, 1.07);
  const byIndex = new Array<number>(n);
  order.forEach((productIndex, rank) => (byIndex[productIndex] = weights[rank] as number));

  const out = new LineWriter(join(dir, FILES.products));
  await out.write(csvRow(PRODUCTS_COLUMNS), false);
  const versions = products.flatMap((p) => p.prices.map((step) => ({ p, step })));
  versions.sort((a, b) => a.step.from - b.step.from || a.p.id.localeCompare(b.p.id));
  for (const { p, step } of versions) {
    let { name, category } = p;
    if (dirt.chance(rates.catalogText)) {
      const onName = dirt.chance(0.6);
      const d = dirtyText(dirt, onName ? name : category);
      if (onName) name = d.text;
      else category = d.text;
      tally.defect(FILES.products, d.kind);
    }
    tally.row(FILES.products);
    await out.write(csvRow([p.id, name, category, formatCents(step.cents), new Date(step.from).toISOString()]));
  }
  await out.close();
  return { products, popularity: new Weighted(byIndex) };
}
