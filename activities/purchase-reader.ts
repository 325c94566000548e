/**
 * Streaming readers of dropped purchase files: a CSV (csv-parse, so quoted commas and quoted line
 * breaks are handled) or a JSON-lines file, read chunk by chunk from any Readable, never whole.
 * Every non-empty source record comes out exactly once, with its 1-based first line and its text,
 * including records the parser cannot make sense of, so nothing can be dropped silently.
 */
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
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

/** csv-parse reports the line a record ends on; the reference should name the line it starts on. */
function recordText(raw: string, endLine: number): { raw: string; line: number } {
  const text = raw.replace(/^(?:\r?\n)+/, '').replace(/\r?\n$/, '');
  const inner = text.match(/\n/g)?.length ?? 0;
  return { raw: text, line: endLine - inner };
}

async function* readCsv(body: Readable): AsyncGenerator<SourceRecord> {
  const skipped: SourceRecord[] = [];
  const parser = body.pipe(
    parse({
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true, // a wrong cell count is a record-level defect, judged by the caller
      relax_quotes: true, // a stray quote inside a field is kept as text, not a parse error
      raw: true,
      info: true,
      skip_records_with_error: true,
      // Whatever the parser gives up on (e.g. a quote never closed) is still a record to quarantine.
      on_skip: (err, raw) => {
        const at = recordText(raw ?? '', Number((err as { lines?: unknown } | undefined)?.lines ?? 0));
        skipped.push({ ...at, broken: `unreadable CSV (${err?.code ?? 'parse error'}): ${err?.message ?? 'skipped by the parser'}` });
        return undefined;
      },
    }),
  );
  body.on('error', (err) => parser.destroy(err));
  for await (const rec of parser as AsyncIterable<{ record: string[]; raw: string; info: { lines: number } }>) {
    while (skipped.length) yield skipped.shift() as SourceRecord;
    yield { ...recordText(rec.raw, rec.info.lines), cells: rec.record };
  }
  while (skipped.length) yield skipped.shift() as SourceRecord;
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
