/**
 * Set-wise loads: rows are COPYed into a temporary table, then merged into the target with one
 * INSERT ... SELECT ... ON CONFLICT DO NOTHING. The natural key of the target decides what is a
 * duplicate, both against earlier loads and within the batch; the count of merged rows is returned.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export type CopyValue = string | number | boolean | bigint | Date | null | undefined | object;

const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** Encodes one value in PostgreSQL's COPY text format. */
export function copyText(v: CopyValue): string {
  if (v === null || v === undefined) return '\\N';
  const s = v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
  // Most values have nothing to escape: one scan instead of four replaces.
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** One row's values in COPY text, tab-separated, no newline. */
function rowText(row: readonly CopyValue[]): string {
  let line = '';
  for (let i = 0; i < row.length; i++) line += (i === 0 ? '' : '\t') + copyText(row[i]);
  return line;
}

/** One row as a COPY text line, newline included. */
export function copyLine(row: readonly CopyValue[]): string {
  return `${rowText(row)}\n`;
}

/** Values that end every line of a CopyText alike, encoded once (the tab before each included). */
export const copySuffix = (values: readonly CopyValue[]): string => values.map((v) => `\t${copyText(v)}`).join('');

const ident = (name: string) => {
  if (!/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/.test(name)) throw new Error(`unsafe SQL identifier: ${name}`);
  return name;
};

/**
 * Rows encoded as COPY text as they arrive, sent as one piece when merged. Written chunk by chunk,
 * a batch waited for the socket to drain once per chunk, and each wait queued behind the caller's
 * parsing on the event loop: the COPY (and the merge after it) stayed open as long as the parsing.
 */
export class CopyText {
  rows = 0;
  private buf = Buffer.allocUnsafe(1 << 16);
  private bytes = 0;

  /** The values every row ends with and its newline, encoded once (copySuffix): a file's own columns on each of its lines. */
  private readonly tail: Buffer;

  constructor(suffix = '') {
    this.tail = Buffer.from(`${suffix}\n`);
  }

  add(row: readonly CopyValue[]): void {
    const line = rowText(row);
    // Encoded into one growing buffer: nothing per row is left for the garbage collector to move.
    // The tail is copied as bytes, not encoded again for each row.
    const room = line.length * 3 + this.tail.length;
    if (this.bytes + room > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.bytes + room));
      this.buf.copy(bigger, 0, 0, this.bytes);
      this.buf = bigger;
    }
    this.bytes += this.buf.write(line, this.bytes);
    this.bytes += this.tail.copy(this.buf, this.bytes);
    this.rows++;
  }

  take(): Buffer {
    const text = this.buf.subarray(0, this.bytes);
    this.buf = Buffer.alloc(0);
    this.bytes = 0;
    return text;
  }
}

/** COPY rows into an existing table (no conflict handling); a Buffer is rows already encoded as COPY text (CopyText.take). */
export async function copyRows(client: PoolClient, table: string, columns: string[], rows: Iterable<CopyValue[]> | CopyText | Buffer): Promise<void> {
  const sql = `copy ${ident(table)} (${columns.map(ident).join(', ')}) from stdin`;
  if (rows instanceof CopyText || Buffer.isBuffer(rows)) {
    await pipeline(Readable.from([Buffer.isBuffer(rows) ? rows : rows.take()]), client.query(copyFrom(sql)));
    return;
  }
  const values = rows;
  // One chunk per ~64 KB, not per row: the stream's per-chunk cost dominated (200k rows: 2.8 s -> 1.1 s).
  function* chunks() {
    let chunk = '';
    for (const r of values) {
      chunk += copyLine(r);
      if (chunk.length >= 65_536) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  await pipeline(Readable.from(chunks()), client.query(copyFrom(sql)));
}

/**
 * Runs `attempt` in a savepoint of the caller's transaction: true when it succeeded. An error with
 * one of `codes` (a key already stored, a deadlock) rolls the savepoint back and gives false, so
 * the caller can take its other way as if the attempt had never run; any other error is thrown.
 * The direct COPYs of events and purchase lines, falling back to their temporary table and merge.
 */
export async function inSavepoint(client: PoolClient, name: string, codes: readonly string[], attempt: () => Promise<void>): Promise<boolean> {
  await client.query(`savepoint ${ident(name)}`);
  try {
    await attempt();
  } catch (err) {
    if (!codes.includes((err as { code?: string }).code ?? '')) throw err;
    await client.query(`rollback to savepoint ${name}`);
    await client.query(`release savepoint ${name}`);
    return false;
  }
  await client.query(`release savepoint ${name}`);
  return true;
}

let tempCounter = 0;

/**
 * Merges rows into `table`, skipping rows whose key already exists, or with `update`, updating the
 * existing row (`update.set` is the SET list; `excluded` names the incoming row). Must run inside a
 * transaction. Returns how many rows were inserted or updated; without `update`, the rows given -
 * inserted are duplicates.
 */
export async function mergeRows(client: PoolClient, table: string, columns: string[], rows: CopyValue[][] | CopyText, update?: { key: string[]; set: string }): Promise<number> {
  if ((rows instanceof CopyText ? rows.rows : rows.length) === 0) return 0;
  const tmp = `_merge_${process.pid}_${++tempCounter}`;
  const cols = columns.map(ident).join(', ');
  await client.query(`create temp table ${tmp} (like ${ident(table)} including defaults) on commit drop`);
  await copyRows(client, tmp, columns, rows);
  const conflict = update ? `(${update.key.map(ident).join(', ')}) do update set ${update.set}` : 'do nothing';
  const res = await client.query(`insert into ${ident(table)} (${cols}) select ${cols} from ${tmp} on conflict ${conflict}`);
  await client.query(`drop table ${tmp}`);
  return res.rowCount ?? 0;
}
