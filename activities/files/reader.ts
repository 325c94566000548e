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
import { decodedText, type Utf16 } from './utf16';

export type { PurchaseFormat };

/** Where reading goes on after a record: the byte offset just past it and the line it ends on. */
export interface Position { byte: number; line: number }

/**
 * Where a reader starts (`byte`, of the file's decompressed bytes, and the lines before it) and
 * what it must know of the file before that point; kept current while reading.
 */
export interface ReaderState extends Position {
  /** CSV: cells of the header, for telling a record that swallowed later lines. */
  headerWidth?: number | null;
  /** CSV: the file has shown bytes that are not UTF-8 (records decoded with U+FFFD are broken). */
  badUtf8?: boolean;
  /** Set when the file starts with a UTF-16 BOM: it is read transcoded, and `byte` counts the transcoded bytes (utf16.ts). */
  encoding?: Utf16;
}

/**
 * One source record: its cells (CSV) or parsed value (JSONL), or why it could not be read. `next`
 * says where a reader resumed after it starts; a reader may leave it out where it cannot say
 * (the rest of a line cut at the size cap not read yet).
 */
export type SourceRecord = (
  | { line: number; raw: string; cells: string[] }
  | { line: number; raw: string; value: unknown }
  | { line: number; raw: string; broken: string }
) & { next?: Position };

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

/**
 * The same records, in order, in batches (a CSV yields one per chunk read). With `state`, reading
 * resumes at `state.byte`: a plain body must start there already (a ranged GET); a gzip or UTF-16
 * body (readsWhole) is the whole file, decompressed and transcoded up to that point without parsing.
 */
export async function* readPurchaseBatches(body: Readable, kind: PurchaseFileKind, state: ReaderState = { byte: 0, line: 0 }): AsyncGenerator<SourceRecord[]> {
  const unzipped = kind.gzip ? gunzipped(body) : { stream: body, damage: () => null };
  const text = decodedText(unzipped.stream as AsyncIterable<Buffer | string>, state);
  const input = { stream: Readable.from(readsWhole(kind, state) && state.byte > 0 ? skipBytes(text, state.byte) : text, { objectMode: false }), damage: unzipped.damage };
  let last = state.line;
  for await (const batch of kind.format === 'csv' ? readCsvBatches(input.stream, MAX_RECORD_BYTES, state) : readJsonlBatches(input.stream, state)) {
    last = batch[batch.length - 1]?.line ?? last;
    yield batch;
  }
  const damage = input.damage();
  if (damage) yield [{ line: last + 1, raw: '', broken: `${damage}; the rest of the file is quarantined as this one record (the raw zone keeps the file's bytes)` }];
}

/** A resumed read of this file needs its whole body (offsets are of decompressed or transcoded bytes), not a ranged GET. */
export const readsWhole = (kind: PurchaseFileKind, state: Pick<ReaderState, 'encoding'>) => kind.gzip || state.encoding !== undefined;

/** The first `n` bytes of a stream dropped, the rest passed on. */
async function* skipBytes(body: AsyncIterable<Buffer>, n: number): AsyncGenerator<Buffer> {
  let left = n;
  for await (const piece of body as AsyncIterable<Buffer>) {
    if (left >= piece.length) {
      left -= piece.length;
      continue;
    }
    yield left > 0 ? piece.subarray(left) : piece;
    left = 0;
  }
  if (left > 0) throw new Error(`the file is ${n - left} bytes long, shorter than the ${n} bytes already loaded from it`);
}

async function* readJsonlBatches(body: Readable, state: Position): AsyncGenerator<SourceRecord[]> {
  let batch: SourceRecord[] = [];
  for await (const rec of readJsonl(body, MAX_RECORD_BYTES, state)) {
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
async function* readJsonl(body: Readable, maxLineBytes = MAX_RECORD_BYTES, from: Position = { byte: 0, line: 0 }): AsyncGenerator<SourceRecord> {
  let parts: Buffer[] = [];
  let size = 0;
  let line = from.line;
  let overlong = false;
  let offset = from.byte; // of the byte after the line being finished
  const finish = (): SourceRecord | null => {
    line++;
    const next = { byte: offset, line };
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    const wasOverlong = overlong;
    parts = [];
    size = 0;
    overlong = false;
    const end = bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length;
    const raw = bytes.toString('utf8', line === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0, end);
    if (wasOverlong) return { line, raw, broken: `line ${line} is longer than ${maxLineBytes} bytes; its first ${maxLineBytes} bytes are kept here`, next };
    if (raw.trim() === '') return null;
    if (!isUtf8(bytes)) return { line, raw, broken: 'not valid UTF-8 (the raw zone keeps the exact bytes)', next };
    try {
      return { line, raw, value: JSON.parse(raw) as unknown, next };
    } catch {
      return { line, raw, broken: 'not valid JSON', next };
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
    const chunkAt = offset;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, from)) {
      add(chunk.subarray(from, nl));
      from = nl + 1;
      offset = chunkAt + from;
      const rec = finish();
      if (rec) yield rec;
    }
    if (from < chunk.length) add(chunk.subarray(from));
    offset = chunkAt + chunk.length;
  }
  if (size > 0 || overlong) {
    const rec = finish();
    if (rec) yield rec;
  }
}
