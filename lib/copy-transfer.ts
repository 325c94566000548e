/**
 * Streams rows from one PostgreSQL database into another: COPY (query) TO STDOUT on the source,
 * an optional per-row rewrite of COPY text cells, COPY FROM STDIN on the target. Nothing is held
 * in memory beyond one chunk, so an hour of events at any scale crosses in constant memory.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { rememberAnswers } from './memo';

const NULL = '\\N';

/** The escapes COPY TO writes in text format (PostgreSQL's CopyAttributeOutText), and what they stand for. */
const COPY_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** Decodes one COPY text cell; null for \N. */
export function decodeCopyCell(cell: string): string | null {
  if (cell === NULL) return null;
  return cell.replace(/\\(.)/g, (_, c: string) => COPY_ESCAPES[c] ?? c);
}

/**
 * Rewrites each COPY text line; `map` gets and returns one raw (still encoded) line, without its
 * newline. Lines are cut at the byte level (0x0A never occurs inside a multi-byte UTF-8 character)
 * and only complete lines are decoded: a chunk may end mid-character, and decoding it alone made U+FFFD.
 */
export function mapCopyLines(map: (line: string) => string): Transform {
  let pending: Buffer[] = []; // bytes after the last newline seen, not yet a whole line
  const mapLines = (bytes: Buffer) => bytes.toString('utf8').split('\n').map(map).join('\n') + '\n';
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const end = chunk.lastIndexOf(10);
      if (end < 0) {
        pending.push(chunk);
        return done();
      }
      const head = pending.length ? Buffer.concat([...pending, chunk.subarray(0, end)]) : chunk.subarray(0, end);
      pending = end + 1 < chunk.length ? [chunk.subarray(end + 1)] : [];
      done(null, mapLines(head));
    },
    flush(done: TransformCallback) {
      const rest = Buffer.concat(pending);
      pending = [];
      if (rest.length) done(null, mapLines(rest));
      else done();
    },
  });
}

/**
 * Replaces the cell at `index` of a COPY text line with f(decoded value); blank or null input
 * becomes null. The other cells are copied as they are, not split apart: the extract runs this on
 * every row it moves (931k event lines in 1.35 s when each line was split into its cells and
 * joined again, 0.85 s so; docs/transform.md). f's output must need no COPY escaping (a pseudonym).
 */
export function rewriteCell(index: number, f: (value: string) => string): (line: string) => string {
  return (line) => {
    let start = 0;
    for (let i = 0; i < index; i++) {
      const tab = line.indexOf('\t', start);
      if (tab < 0) return line; // fewer cells than the column's place: COPY FROM reports the line
      start = tab + 1;
    }
    const tab = line.indexOf('\t', start);
    const end = tab < 0 ? line.length : tab;
    const v = decodeCopyCell(line.slice(start, end));
    return line.slice(0, start) + (v === null || v.trim() === '' ? NULL : f(v)) + line.slice(end);
  };
}

/** COPY's binary format: this signature, a flags word and a header extension (its length first). */
const BINARY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Replaces field `index` of every tuple of a COPY BINARY stream (a text value: UTF-8 bytes) with
 * f(decoded value); blank or null input becomes null, as `rewriteCell` does for the text format.
 * The header, the trailer and the other fields pass through as bytes, never decoded: the text
 * format's rewrite decoded and encoded every line of the stream as a JavaScript string.
 * A tuple is written once it is whole; one cut by a chunk edge waits for the rest. f must give
 * the same output for the same value: its outputs are remembered.
 */
export function mapCopyBinaryCell(index: number, f: (value: string) => string): Transform {
  let pending: Buffer | undefined;
  let headerLeft = -1; // bytes of the header still to pass through; -1: not yet known
  let ended = false; // the trailer (a field count of -1) was seen
  // value → its replacement field, length first (f must be a function of the value).
  const fieldOf = rememberAnswers((value) => {
    const bytes = Buffer.from(f(value), 'utf8');
    const field = Buffer.allocUnsafe(4 + bytes.length);
    field.writeInt32BE(bytes.length);
    bytes.copy(field, 4);
    return field;
  }, REMEMBERED_LIMIT);
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = undefined;
      let pos = 0;
      if (headerLeft < 0) {
        if (buf.length < 19) {
          pending = buf;
          return done();
        }
        if (!buf.subarray(0, 11).equals(BINARY_SIGNATURE)) return done(new Error('not a COPY BINARY stream: its signature is missing'));
        const extension = buf.readInt32BE(15);
        if (extension < 0) return done(new Error(`not a COPY BINARY stream: its header extension has length ${extension}`));
        headerLeft = 19 + extension;
      }
      const parts: Buffer[] = [];
      const head = Math.min(headerLeft, buf.length);
      if (head > 0) {
        parts.push(buf.subarray(0, head));
        headerLeft -= head;
        pos = head;
      }
      let copied = pos; // bytes before this are in parts
      while (headerLeft === 0 && pos + 2 <= buf.length) {
        if (ended) return done(new Error(`COPY BINARY stream goes on after its trailer (${buf.length - pos} bytes)`));
        const fields = buf.readInt16BE(pos);
        if (fields < 0) { // the trailer
          ended = true;
          pos += 2;
          continue;
        }
        // Find the tuple's end and the rewritten field within it; wait when it is cut.
        let at = pos + 2;
        let fieldAt = -1;
        let fieldLen = 0;
        let whole = true;
        for (let i = 0; i < fields; i++) {
          if (at + 4 > buf.length) { whole = false; break; }
          const len = buf.readInt32BE(at);
          if (i === index) { fieldAt = at; fieldLen = len; }
          at += 4 + Math.max(len, 0);
          if (at > buf.length) { whole = false; break; }
        }
        if (!whole) break;
        if (fieldAt >= 0) {
          parts.push(buf.subarray(copied, fieldAt));
          const value = fieldLen < 0 ? '' : buf.toString('utf8', fieldAt + 4, fieldAt + 4 + fieldLen);
          parts.push(value.trim() === '' ? NULL_FIELD : fieldOf(value));
          copied = fieldAt + 4 + Math.max(fieldLen, 0);
        }
        pos = at;
      }
      parts.push(buf.subarray(copied, pos));
      if (pos < buf.length) pending = buf.subarray(pos);
      done(null, Buffer.concat(parts));
    },
    flush(done: TransformCallback) {
      if (headerLeft !== 0) return done(new Error('COPY BINARY stream ended inside its header'));
      if (ended && pending?.length) return done(new Error(`COPY BINARY stream goes on after its trailer (${pending.length} bytes)`));
      if (pending?.length) return done(new Error(`COPY BINARY stream ended inside a tuple (${pending.length} bytes left)`));
      if (!ended) return done(new Error('COPY BINARY stream ended without its trailer'));
      done();
    },
  });
}

const NULL_FIELD = Buffer.from([0xff, 0xff, 0xff, 0xff]);
/** Answers of a rewrite remembered per stream (either format): an hour's events name each user many times. */
const REMEMBERED_LIMIT = 250_000;

/**
 * Copies the rows of `selectSql` (run on `source`) into `target (columns)` on `dest`, in COPY's
 * binary format when the types allow it (`formats: 'text'` keeps to text; bench/copy-formats.ts
 * compares the two). `selectSql` cannot take parameters (COPY does not), so callers inline only
 * values they made. Returns the format used.
 */
export async function transferRows(
  source: PoolClient, selectSql: string, dest: PoolClient, target: string, columns: string[],
  rewrite?: CellRewrite, formats: 'binary or text' | 'text' = 'binary or text',
): Promise<'binary' | 'text'> {
  const format = formats !== 'text' && await sameBuiltInTypes(source, selectSql, dest, target, columns) ? 'binary' : 'text';
  const out = source.query(copyTo(`copy (${selectSql}) to stdout with (format ${format})`));
  const into = dest.query(copyFrom(`copy ${target} (${columns.join(', ')}) from stdin with (format ${format})`));
  if (!rewrite) await pipeline(out, into);
  else if (format === 'binary') await pipeline(out, mapCopyBinaryCell(rewrite.index, rewrite.f), into);
  else await pipeline(out, mapCopyLines(rewriteCell(rewrite.index, rememberAnswers(rewrite.f, REMEMBERED_LIMIT))), into);
  return format;
}

/**
 * One text cell of every row replaced by f(its value) on the way (a pseudonym for a user id).
 * f must give the same output for the same value: the transfer remembers its answers (up to
 * 250,000 values at a time, in either format), so f itself need not (one cache, not two).
 */
export interface CellRewrite { index: number; f: (value: string) => string }

/**
 * Whether every column the select gives has the built-in type of the target's column in its place.
 * COPY's binary format is the types' own (no text to parse or format: COPY FROM a file of a busy
 * hour's 931k events into a temporary table took about 30 % less time so, psql; the whole transfer,
 * with Node's rewrite, about 10 % less CPU and the same wall time, bench/copy-formats.ts); it needs the same type on both
 * sides, and a built-in one, whose OID is the same in every database. Otherwise text, which converts.
 */
async function sameBuiltInTypes(source: PoolClient, selectSql: string, dest: PoolClient, target: string, columns: string[]): Promise<boolean> {
  const from = await source.query(`select * from (${selectSql}) t limit 0`);
  const to = await dest.query(`select ${columns.join(', ')} from ${target} limit 0`);
  return from.fields.length === to.fields.length
    && from.fields.every((f, i) => f.dataTypeID === to.fields[i]?.dataTypeID && f.dataTypeID < FIRST_NORMAL_OBJECT_ID);
}

/** PostgreSQL's first OID for objects made after initdb: below it, a type is built in. */
const FIRST_NORMAL_OBJECT_ID = 16384;
