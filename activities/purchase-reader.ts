/**
 * Streaming readers of dropped purchase files: a CSV (csv-parse, so quoted commas and quoted line
 * breaks are handled) or a JSON-lines file, read chunk by chunk from any Readable, never whole.
 * Every non-empty source record comes out exactly once, with its 1-based first line and its text,
 * including records the parser cannot make sense of, so nothing can be dropped silently.
 */
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { parse } from 'csv-parse';

export type PurchaseFormat = 'csv' | 'jsonl';

/** One source record: its cells (CSV) or parsed value (JSONL), or why it could not be read. */
export type SourceRecord =
  | { line: number; raw: string; cells: string[] }
  | { line: number; raw: string; value: unknown }
  | { line: number; raw: string; broken: string };

export function formatOf(key: string): PurchaseFormat | null {
  const lower = key.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  return null;
}

export function readPurchaseRecords(body: Readable, format: PurchaseFormat): AsyncGenerator<SourceRecord> {
  return format === 'csv' ? readCsv(body) : readJsonl(body);
}

/** The same records, in order, in batches (a CSV yields one per chunk read). */
export async function* readPurchaseBatches(body: Readable, format: PurchaseFormat): AsyncGenerator<SourceRecord[]> {
  if (format === 'csv') return yield* readCsvBatches(body);
  let batch: SourceRecord[] = [];
  for await (const rec of readJsonl(body)) {
    batch.push(rec);
    if (batch.length >= 1000) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

/** csv-parse reports the line a record ends on; the reference should name the line it starts on. */
function recordText(raw: string, endLine: number): { raw: string; line: number } {
  const first = raw.charCodeAt(0);
  if (first === 10 || first === 13) {
    const text = raw.replace(/^(?:\r?\n)+/, '').replace(/\r?\n$/, '');
    return { raw: text, line: endLine - (text.match(/\n/g)?.length ?? 0) };
  }
  // The common case, without regexes: no leading empty lines, at most a trailing line break to cut.
  let end = raw.length;
  if (raw.charCodeAt(end - 1) === 10) end -= raw.charCodeAt(end - 2) === 13 ? 2 : 1;
  const text = end === raw.length ? raw : raw.slice(0, end);
  let inner = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) inner++;
  return { raw: text, line: endLine - inner };
}

/**
 * Records come out in batches, one per chunk of the body, in file order: csv-parse runs
 * synchronously on each chunk and hands every record (or skipped one) to a callback, so no
 * record pays for a trip through an object stream and an async iterator of its own.
 */
async function* readCsvBatches(body: Readable): AsyncGenerator<SourceRecord[]> {
  let out: SourceRecord[] = [];
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true, // a wrong cell count is a record-level defect, judged by the caller
    relax_quotes: true, // a stray quote inside a field is kept as text, not a parse error
    raw: true,
    skip_records_with_error: true,
    // With `raw`, csv-parse hands on_record { record, raw } (its typings say string[]).
    on_record: (rec, context) => {
      const { record, raw } = rec as unknown as { record: string[]; raw: string };
      out.push({ ...recordText(raw, context.lines), cells: record });
      return null; // collected here, nothing is pushed downstream
    },
    // Whatever the parser gives up on (e.g. a quote never closed) is still a record to quarantine.
    on_skip: (err, raw) => {
      const at = recordText(raw ?? '', Number((err as { lines?: unknown } | undefined)?.lines ?? 0));
      out.push({ ...at, broken: `unreadable CSV (${err?.code ?? 'parse error'}): ${err?.message ?? 'skipped by the parser'}` });
      return undefined;
    },
  });
  let failed: unknown = null;
  parser.on('error', (err) => (failed ??= err));
  parser.resume(); // its readable side carries nothing; flowing lets it end
  const take = () => {
    if (failed) throw failed as Error;
    const batch = out;
    out = [];
    return batch;
  };
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    parser.write(chunk);
    const batch = take();
    if (batch.length) yield batch;
  }
  parser.end();
  await finished(parser);
  const batch = take();
  if (batch.length) yield batch;
}

async function* readCsv(body: Readable): AsyncGenerator<SourceRecord> {
  for await (const batch of readCsvBatches(body)) yield* batch;
}

async function* readJsonl(body: Readable): AsyncGenerator<SourceRecord> {
  const lines = createInterface({ input: body, crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    const raw = line === 1 ? text.replace(/^\uFEFF/, '') : text;
    if (raw.trim() === '') continue;
    try {
      yield { line, raw, value: JSON.parse(raw) as unknown };
    } catch {
      yield { line, raw, broken: 'not valid JSON' };
    }
  }
}
