/**
 * The raw zone writer: what a source sent, byte for byte or record for record, under
 * `raw/<source>/dt=YYYY-MM-DD/<safeName(loadId)>.<ext>`. The key derives from the load id only, so
 * a retried attempt overwrites its own object instead of adding a second copy.
 */
import { isUtf8 } from 'node:buffer';
import type { S3Client } from '@aws-sdk/client-s3';
import { lakeKey, safeName } from '../../lib/lake';
import { putObject } from '../../lib/s3';
import { jsonlUpload, type JsonlUpload } from './jsonl-upload';

export interface Lake { s3: S3Client; bucket: string }

/** Where one load's raw object goes. `dt` is the partition's UTC date (YYYY-MM-DD). */
export interface RawTarget { source: string; dt: string; loadId: string }

export function rawKey(t: RawTarget, ext: 'json' | 'jsonl'): string {
  return lakeKey('raw', t.source, t.dt, `${safeName(t.loadId)}.${ext}`);
}

/** Stores a response body exactly as received (e.g. one API page). Returns the object key. */
export async function writeRawText(lake: Lake, t: RawTarget, body: string, ext: 'json' | 'jsonl' = 'json'): Promise<string> {
  const key = rawKey(t, ext);
  await putObject(lake.s3, lake.bucket, key, body, ext === 'json' ? 'application/json' : 'application/x-ndjson');
  return key;
}

/** Stores records as JSON lines in one object. */
export async function writeRawJsonl(lake: Lake, t: RawTarget, records: readonly unknown[]): Promise<string> {
  return writeRawText(lake, t, records.map((r) => JSON.stringify(r) + '\n').join(''), 'jsonl');
}

const NL = Buffer.from('\n');
const NULL_LINE = Buffer.from('#null\n');
const BASE64_PREFIX = '#base64:';

/**
 * Message values (Kafka) as one raw object, one line per message in order, built from Buffers so no
 * JS string ever holds the object. A value that is UTF-8 without CR or LF and does not start with `#`
 * is its line as is: a normal stream's object reads as JSON lines of its events. Any other value
 * (binary, invalid UTF-8, multi-line JSON) is the line `#base64:<its bytes in base64>`, and a
 * message without a value (null) is `#null`; no verbatim line starts with `#`, so each line maps
 * back to its message's exact bytes (rawMessageValue).
 */
export function rawMessages(values: ReadonlyArray<Buffer | null>): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) {
    if (v === null) parts.push(NULL_LINE);
    else if (v[0] !== 0x23 && !v.includes(0x0a) && !v.includes(0x0d) && isUtf8(v)) parts.push(v, NL);
    else parts.push(Buffer.from(`${BASE64_PREFIX}${v.toString('base64')}\n`));
  }
  return Buffer.concat(parts);
}

/** The message value behind one line of a rawMessages object (the line without its newline). */
export function rawMessageValue(line: Buffer): Buffer | null {
  if (line[0] !== 0x23) return line;
  const text = line.toString('latin1');
  if (text === '#null') return null;
  if (text.startsWith(BASE64_PREFIX)) return Buffer.from(text.slice(BASE64_PREFIX.length), 'base64');
  throw new Error(`not a line of a raw messages object: ${text.slice(0, 40)}`);
}

/**
 * The raw object of one load as streamed JSON lines (jsonlUpload at rawKey), so a large window never
 * sits in memory. The upload starts at the first record; nothing written, no object.
 */
export function rawJsonlStream(lake: Lake, t: RawTarget): JsonlUpload {
  return jsonlUpload(lake, rawKey(t, 'jsonl'));
}
