/**
 * Readers of the streamed sources and of the dataset folder itself. Orders must be well formed (the
 * API serves them by updated_at); events and purchase lines may carry planted defects, which are
 * data, so those readers yield each record with its verdict and only stop on a broken layout.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCsvLine } from './csv';
import { FILES, PURCHASE_EXTENSIONS, purchaseFileKind, REQUIRED_FILES, type PurchaseFormat } from '../../contract/layout';
import { manifestSchema, type Manifest } from '../../contract/manifest';
import { DatasetError } from './dataset-error';
import { readLines } from './lines';
import { checkEvent, checkOrder, checkPurchase, checkPurchaseCells, checkPurchaseHeader, type Checked, type CheckedEvent, type PurchaseLine } from '../../contract/records';

/** Parses a JSON-lines line into an object, or says why it is not one. */
export function parseJsonObject(text: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : 'not a JSON object';
}

/** Non-empty lines of a dataset file; a missing file is a DatasetError naming it. */
async function* lines(dir: string, file: string, gzip = false): AsyncGenerator<{ text: string; line: number }> {
  if (!existsSync(join(dir, file))) throw new DatasetError(file, null, null, `file is missing in ${dir}`);
  try {
    for await (const { line, n } of readLines(join(dir, file), gzip)) if (line.trim() !== '') yield { text: line, line: n };
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('Z_')) throw new DatasetError(file, null, null, `not a readable gzip file (${(err as Error).message})`);
    throw err;
  }
}

/** A purchase file: any name with a known extension; its dates are in its lines, not its name. */
export interface PurchaseFile { path: string; format: PurchaseFormat; gzip: boolean }
export interface DatasetFolder { dir: string; purchases: PurchaseFile[]; hasInventory: boolean; hasReviews: boolean; hasManifest: boolean }

/** Checks that the required files exist (naming the missing ones) and lists purchase files by name. */
export function openDataset(dir: string): DatasetFolder {
  if (!existsSync(dir)) throw new DatasetError(dir, null, null, 'dataset folder does not exist');
  const missing = REQUIRED_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) throw new DatasetError(missing.join(', '), null, null, `required file${missing.length > 1 ? 's' : ''} missing in ${dir}`);
  const pdir = join(dir, FILES.purchases);
  const purchases: PurchaseFile[] = [];
  for (const name of existsSync(pdir) ? readdirSync(pdir).sort() : []) {
    if (name.startsWith('.')) continue; // hidden files (.DS_Store) are no export
    const kind = purchaseFileKind(name);
    if (!kind) throw new DatasetError(`${FILES.purchases}/${name}`, null, null, `not a purchase file: the name must end in ${PURCHASE_EXTENSIONS.join(', ')}`);
    purchases.push({ path: `${FILES.purchases}/${name}`, ...kind });
  }
  const has = (f: string) => existsSync(join(dir, f));
  return { dir, purchases, hasInventory: has(FILES.inventory), hasReviews: has(FILES.reviews), hasManifest: has(FILES.manifest) };
}

export async function* readOrders(dir: string): AsyncGenerator<{ line: number; text: string; order: Record<string, unknown> }> {
  for await (const { text, line } of lines(dir, FILES.orders)) {
    const order = parseJsonObject(text);
    if (typeof order === 'string') throw new DatasetError(FILES.orders, line, null, `${order}; each line must be one order version`);
    const checked = checkOrder(order);
    if (!checked.ok) throw new DatasetError(FILES.orders, line, checked.field, checked.reason);
    yield { line, text, order };
  }
}

/** Every line of events.jsonl; one that is not a JSON object is an invalid event (`event` is empty), sent on as it is. */
export async function* readEvents(dir: string): AsyncGenerator<{ line: number; text: string; event: Record<string, unknown>; check: Checked<CheckedEvent> }> {
  for await (const { text, line } of lines(dir, FILES.events)) {
    const event = parseJsonObject(text);
    if (typeof event === 'string') yield { line, text, event: {}, check: { ok: false, field: '*', reason: event } };
    else yield { line, text, event, check: checkEvent(event) };
  }
}

/** One purchase line with its verdict; `text` is the line exactly as written, for quarantine. */
export interface PurchaseRecord { line: number; text: string; check: Checked<PurchaseLine> }

export async function* readPurchaseFile(dir: string, file: PurchaseFile): AsyncGenerator<PurchaseRecord> {
  let header: string[] | null = null;
  for await (const { text, line } of lines(dir, file.path, file.gzip)) {
    if (file.format === 'jsonl') {
      const obj = parseJsonObject(text);
      yield { line, text, check: typeof obj === 'string' ? { ok: false, field: '*', reason: obj } : checkPurchase(obj) };
      continue;
    }
    const cells = parseCsvLine(text);
    if (header === null) {
      const problem = cells ? checkPurchaseHeader(cells.map((c) => c.trim().replace(/^\uFEFF/, ''))) : 'unterminated quoted field';
      if (problem || !cells) throw new DatasetError(file.path, line, null, `bad purchase header: ${String(problem)}`);
      header = cells.map((c) => c.trim().replace(/^\uFEFF/, ''));
      continue;
    }
    yield { line, text, check: cells ? checkPurchaseCells(header, cells) : { ok: false, field: '*', reason: 'unterminated quoted field' } };
  }
}

/** manifest.json is optional: null when absent, a DatasetError naming the field when malformed. */
export function readManifest(dir: string): Manifest | null {
  const path = join(dir, FILES.manifest);
  if (!existsSync(path)) return null;
  const parsed = parseJsonObject(readFileSync(path, 'utf8'));
  if (typeof parsed === 'string') throw new DatasetError(FILES.manifest, null, null, parsed);
  const result = manifestSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new DatasetError(FILES.manifest, null, issue?.path.join('.') ?? null, issue?.message ?? 'invalid manifest');
  }
  return result.data as Manifest;
}
