/**
 * Streaming readers of the catalogue files (products, users, inventory, reviews). They check the
 * layout strictly: a catalogue row the shop database cannot hold is an error naming file, line and
 * field, since these files carry no planted invalid records (only dirty-but-valid text).
 */
import { join } from 'node:path';
import { parseCsvLine } from './csv';
import { DatasetError } from './dataset-error';
import { FILES, INVENTORY_COLUMNS, PRODUCTS_COLUMNS, REVIEWS_COLUMNS, USERS_COLUMNS } from '../../contract/layout';
import { readLines } from './lines';
import { isMissing, parseDate, parsePrice } from '../../contract/rules';

export interface ProductRow { product_id: string; product_name: string | null; category: string | null; price: string | null; updated_at: Date }
export interface UserRow { user_id: string; user_name: string | null; email: string | null; country: string | null; signup_date: string | null; updated_at: Date }
export interface InventoryRow { product_id: string; warehouse: string; stock_level: number; updated_at: Date }
export interface ReviewRow { review_id: string; product_id: string; user_id: string; rating: number; review_text: string | null; created_at: Date }

type Fail = (field: string, reason: string) => never;
type Cells = Record<string, string>;

/** Rows of one CSV file in the layout, header checked by name; extra columns are ignored. */
async function* readTable<T>(dir: string, file: string, columns: readonly string[], parse: (c: Cells, fail: Fail) => T): AsyncGenerator<T> {
  let header: string[] | null = null;
  try {
    for await (const { line, n } of readLines(join(dir, file))) {
      if (line.trim() === '') continue;
      const cells = parseCsvLine(line);
      if (!cells) throw new DatasetError(file, n, null, 'unterminated quoted field');
      if (!header) {
        header = cells.map((h) => h.trim().replace(/^\uFEFF/, ''));
        const missing = columns.filter((c) => !header?.includes(c));
        if (missing.length) throw new DatasetError(file, n, missing[0] ?? null, `header lacks ${missing.join(', ')}; expected ${columns.join(',')}`);
        continue;
      }
      if (cells.length !== header.length) throw new DatasetError(file, n, null, `expected ${header.length} columns, got ${cells.length}`);
      const h = header;
      yield parse(Object.fromEntries(h.map((name, i) => [name, cells[i] ?? ''])), (field, reason) => {
        throw new DatasetError(file, n, field, reason);
      });
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new DatasetError(file, null, null, `file missing in ${dir}`);
    throw err;
  }
}

const text = (c: Cells, f: string) => (isMissing(c[f]) ? null : (c[f] as string));
const required = (c: Cells, f: string, fail: Fail) => text(c, f) ?? fail(f, `${f} is missing`);
function instant(c: Cells, f: string, fail: Fail): Date {
  return parseDate(required(c, f, fail)) ?? fail(f, `${f} ${JSON.stringify(c[f])} is not an ISO 8601 date-time`);
}
function integer(c: Cells, f: string, fail: Fail, min: number, max: number): number {
  const s = required(c, f, fail).trim();
  const v = /^-?\d+$/.test(s) ? Number(s) : NaN;
  return v >= min && v <= max ? v : fail(f, `${f} ${JSON.stringify(s)} must be an integer in ${min}..${max}`);
}

export const readProducts = (dir: string) =>
  readTable<ProductRow>(dir, FILES.products, PRODUCTS_COLUMNS, (c, fail) => {
    const raw = text(c, 'price');
    const price = raw === null ? null : (parsePrice(raw) ?? fail('price', `price ${JSON.stringify(raw)} is not a non-negative decimal`));
    return { product_id: required(c, 'product_id', fail), product_name: text(c, 'product_name'), category: text(c, 'category'), price, updated_at: instant(c, 'updated_at', fail) };
  });

export const readUsers = (dir: string) =>
  readTable<UserRow>(dir, FILES.users, USERS_COLUMNS, (c, fail) => {
    const raw = text(c, 'signup_date');
    const signup = raw === null ? null : (parseDate(raw) ?? fail('signup_date', `signup_date ${JSON.stringify(raw)} is not a date`));
    return {
      user_id: required(c, 'user_id', fail), user_name: text(c, 'user_name'), email: text(c, 'email'), country: text(c, 'country'),
      signup_date: signup ? signup.toISOString().slice(0, 10) : null, updated_at: instant(c, 'updated_at', fail),
    };
  });

/** Optional file: a dataset without inventory simply has none. */
export const readInventory = (dir: string) =>
  readTable<InventoryRow>(dir, FILES.inventory, INVENTORY_COLUMNS, (c, fail) => ({
    product_id: required(c, 'product_id', fail), warehouse: required(c, 'warehouse', fail),
    stock_level: integer(c, 'stock_level', fail, 0, 2 ** 31 - 1), updated_at: instant(c, 'updated_at', fail),
  }));

/** Optional file, like inventory. */
export const readReviews = (dir: string) =>
  readTable<ReviewRow>(dir, FILES.reviews, REVIEWS_COLUMNS, (c, fail) => ({
    review_id: required(c, 'review_id', fail), product_id: required(c, 'product_id', fail), user_id: required(c, 'user_id', fail),
    rating: integer(c, 'rating', fail, 1, 5), review_text: text(c, 'review_text'), created_at: instant(c, 'created_at', fail),
  }));
