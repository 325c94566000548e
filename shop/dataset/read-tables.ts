/**
 * Readers of the shop-database tables (products, users, inventory, reviews). These feed typed SQL
 * tables, so a row that breaks the layout stops the load with the file, line and field named.
 * Display text is passed through as written: normalising it is the pipeline's job.
 */
import { join } from 'node:path';
import { parseCsvLine } from './csv';
import { FILES, INVENTORY_COLUMNS, PRODUCTS_COLUMNS, REVIEWS_COLUMNS, USERS_COLUMNS } from './layout';
import { DatasetError, readLines } from './read-lines';
import { isMissing, parseDate, parsePrice } from './rules';

type FieldCheck = (value: string) => string | null;
const required: FieldCheck = (v) => (isMissing(v) ? 'is missing' : null);
const date: FieldCheck = (v) => (parseDate(v) ? null : `${JSON.stringify(v)} is not an ISO 8601 date`);
const price: FieldCheck = (v) => (parsePrice(v) !== null ? null : `${JSON.stringify(v)} is not a non-negative decimal`);
const count: FieldCheck = (v) => (/^\d+$/.test(v.trim()) ? null : `${JSON.stringify(v)} is not a non-negative integer`);
const stars: FieldCheck = (v) => (/^[1-5]$/.test(v.trim()) ? null : `${JSON.stringify(v)} is not a rating 1-5`);

export interface Row<C extends string> { line: number; record: Record<C, string> }

async function* readTable<C extends string>(dir: string, file: string, columns: readonly C[], checks: Partial<Record<C, FieldCheck>>): AsyncGenerator<Row<C>> {
  let header = true;
  for await (const { text, line } of readLines(join(dir, file), file)) {
    const cells = parseCsvLine(text);
    if (!cells) throw new DatasetError(file, line, null, 'unterminated quoted field');
    if (header) {
      header = false;
      columns.forEach((c, i) => {
        if (cells[i]?.trim() !== c) throw new DatasetError(file, line, c, `header must be ${columns.join(',')}; column ${i + 1} is ${JSON.stringify(cells[i] ?? '')}`);
      });
      if (cells.length !== columns.length) throw new DatasetError(file, line, null, `header must have exactly ${columns.length} columns`);
      continue;
    }
    if (cells.length !== columns.length) throw new DatasetError(file, line, null, `expected ${columns.length} columns, got ${cells.length}`);
    const record = Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? ''])) as Record<C, string>;
    for (const c of columns) {
      const problem = checks[c]?.(record[c]);
      if (problem) throw new DatasetError(file, line, c, problem);
    }
    yield { line, record };
  }
}

export type ProductRow = Row<(typeof PRODUCTS_COLUMNS)[number]>;
export type UserRow = Row<(typeof USERS_COLUMNS)[number]>;
export type InventoryRow = Row<(typeof INVENTORY_COLUMNS)[number]>;
export type ReviewRow = Row<(typeof REVIEWS_COLUMNS)[number]>;

export function readProducts(dir: string): AsyncGenerator<ProductRow> {
  return readTable(dir, FILES.products, PRODUCTS_COLUMNS, { product_id: required, product_name: required, price, updated_at: date });
}

export function readUsers(dir: string): AsyncGenerator<UserRow> {
  return readTable(dir, FILES.users, USERS_COLUMNS, { user_id: required, signup_date: date, updated_at: date });
}

export function readInventory(dir: string): AsyncGenerator<InventoryRow> {
  return readTable(dir, FILES.inventory, INVENTORY_COLUMNS, { product_id: required, warehouse: required, stock_level: count, updated_at: date });
}

export function readReviews(dir: string): AsyncGenerator<ReviewRow> {
  return readTable(dir, FILES.reviews, REVIEWS_COLUMNS, { review_id: required, product_id: required, user_id: required, rating: stars, created_at: date });
}
