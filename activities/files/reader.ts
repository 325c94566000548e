/**
 * Streaming readers of dropped purchase files: a CSV (csv-parse, so quoted commas and quoted line
 * breaks are handled) or a JSON-lines file, read chunk by chunk from any Readable, never whole.
 * Every non-empty source record comes out exactly once, with its 1-based first line and its text,
 * including records the parser cannot make sense of, so nothing can be dropped silently.
 */
import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import { constants, createGunzip } from 'node:zlib';
import { purchaseFileKind, type PurchaseFileKind, type PurchaseFormat } from '../../contract/layout';
import { MAX_RECORD_BYTES, readCsvBatches } from './csv';

export type { PurchaseFormat };

/** One source record: its cells (CSV) or parsed value (JSONL), or why it could not be read. */
export type SourceRecord =
  | { line: number; raw: string; cells: string[] }
  | { line: number; raw: string; value: unknown }
  | { line: number; raw: string; broken: string };

/** Any name with a known extension (`.csv`, `.jsonl`, `.ndjson`, each optionally `.gz`). */
export function formatOf(key: string): PurchaseFileKind | null {
  return purchaseFileKind(key.slice(key.lastIndexOf('/') + 1));
}

/**
 * The bytes of a `.gz` file, gunzipped. A truncated archive gives what it holds (Z_SYNC_FLUSH: no
 * error at its cut end); a corrupt one ends the input at the corruption, and `damage` says so, so
 * the reader can quarantine the unreadable rest as one record instead of failing the file forever.
 */
function gunzipped(body: Readable): { stream: Readable; damage: () => string | null } {
  let damage: string | null = null;
  const gunzip = createGunzip({ finishFlush: constants.Z_SYNC_FLUSH });
  body.on('error', (err) => gunzip.destroy(err));
  async function* chunks(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of body.pipe(gunzip)) yield chunk as Buffer;
    } catch (err) {
      if (!String((err as { code?: unknown }).code).startsWith('Z_')) throw err;
      damage = `unreadable gzip data (${(err as Error).message}) after byte ${gunzip.bytesWritten} of the compressed file`;
    }
  }
  return { stream: Readable.from(chunks(), { objectMode: false }), damage: () => damage };
}

export function readPurchaseRecords(body: Readable, kind: PurchaseFileKind): AsyncGenerator<SourceRecord> {
  return flatten(readPurchaseBatches(body, kind));
}

async function* flatten(batches: AsyncGenerator<SourceRecord[]>): AsyncGenerator<SourceRecord> {
  for await (const batch of batches) yield* batch;
}

/** The same records, in order, in batches (a CSV yields one per chunk read). */
export async function* readPurchaseBatches(body: Readable, kind: PurchaseFileKind): AsyncGenerator<SourceRecord[]> {
  const input = kind.gzip ? gunzipped(body) : { stream: body, damage: () => null };
  let last = 0;
  for await (const batch of kind.format === 'csv' ? readCsvBatches(input.stream) : readJsonlBatches(input.stream)) {
    last = batch[batch.length - 1]?.line ?? last;
    yield batch;
  }
  const damage = input.damage();
  if (damage) yield [{ line: last + 1, raw: '', broken: `${damage}; the rest of the file is quarantined as this one record (the raw zone keeps the file's bytes)` }];
}

async function* readJsonlBatches(body: Readable): AsyncGenerator<SourceRecord[]> {
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

/**
 * JSON lines split at the byte level, so a line is decoded whole (a character split across two
 * chunks stays intact) and checked to be UTF-8. A line longer than MAX_RECORD_BYTES is quarantined
 * (its first MAX_RECORD_BYTES kept) and reading goes on at the next line, in bounded memory.
 */
async function* readJsonl(body: Readable, maxLineBytes = MAX_RECORD_BYTES): AsyncGenerator<SourceRecord> {
  let parts: Buffer[] = [];
  let size = 0;
  let line = 0;
  let overlong = false;
  const finish = (): SourceRecord | null => {
    line++;
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    const wasOverlong = overlong;
    parts = [];
    size = 0;
    overlong = false;
    const end = bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length;
    const raw = bytes.toString('utf8', line === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0, end);
    if (wasOverlong) return { line, raw, broken: `line ${line} is longer than ${maxLineBytes} bytes; its first ${maxLineBytes} bytes are kept here` };
    if (raw.trim() === '') return null;
    if (!isUtf8(bytes)) return { line, raw, broken: 'not valid UTF-8 (the raw zone keeps the exact bytes)' };
    try {
      return { line, raw, value: JSON.parse(raw) as unknown };
    } catch {
      return { line, raw, broken: 'not valid JSON' };
    }
  };
  const add = (piece: Buffer) => {
    if (overlong) return;
    if (size + piece.length > maxLineBytes) {
      parts.push(piece.subarray(0, maxLineBytes - size));
      size = maxLineBytes;
      overlong = true;
      return;
    }
    parts.push(piece);
    size += piece.length;
  };
  for await (const piece of body as AsyncIterable<Buffer | string>) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    let from = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, from)) {
      add(chunk.subarray(from, nl));
      from = nl + 1;
      const rec = finish();
      if (rec) yield rec;
    }
    if (from < chunk.length) add(chunk.subarray(from));
  }
  if (size > 0 || overlong) {
    const rec = finish();
    if (rec) yield rec;
  }
}
