/**
 * Streams rows from one PostgreSQL database into another: COPY (query) TO STDOUT on the source,
 * an optional per-row rewrite of COPY text cells, COPY FROM STDIN on the target. Nothing is held
 * in memory beyond one chunk, so an hour of events at any scale crosses in constant memory.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

const NULL = '\\N';

/** Decodes one COPY text cell; null for \N. */
export function decodeCopyCell(cell: string): string | null {
  if (cell === NULL) return null;
  return cell.replace(/\\(.)/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c));
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

/**
 * Copies the rows of `selectSql` (run on `source`) into `target (columns)` on `dest`.
 * `selectSql` cannot take parameters (COPY does not), so callers inline only values they made.
 */
export async function transferRows(
  source: PoolClient, selectSql: string, dest: PoolClient, target: string, columns: string[],
  map?: (line: string) => string,
): Promise<void> {
  const out = source.query(copyTo(`copy (${selectSql}) to stdout`));
  const into = dest.query(copyFrom(`copy ${target} (${columns.join(', ')}) from stdin`));
  if (map) await pipeline(out, mapCopyLines(map), into);
  else await pipeline(out, into);
}
