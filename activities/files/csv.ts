/**
 * The CSV half of the purchase reader: csv-parse over a byte stream, records out in batches in file
 * order. csv-parse alone has two ways to lose a file to one bad quote: a field opened with `"` and
 * never closed swallows every later line into one record (held in memory), and its own
 * max_record_size stops emitting records altogether after the first oversized one. So the size cap
 * is kept here: when more than MAX_RECORD_BYTES have gone in since the last record ended, or the
 * file ends inside an open quote, the line where that record began is quarantined on its own and
 * parsing starts again, with a fresh parser, at the next line. Memory stays bounded by the cap.
 */
import type { Readable } from 'node:stream';
import { isUtf8 } from 'node:buffer';
import { finished } from 'node:stream/promises';
import { parse, type Parser } from 'csv-parse';
import type { ReaderState, SourceRecord } from './reader';

/** A purchase line is a few hundred bytes; a record past this is an unclosed quote, not data. */
export const MAX_RECORD_BYTES = 1 << 20;

/** csv-parse reports the line a record ends on; the reference should name the line it starts on. */
export function recordText(raw: string, endLine: number): { raw: string; line: number } {
  const first = raw.charCodeAt(0);
  if (first === 10 || first === 13) {
    const text = raw.replace(/^(?:\r?\n|\r)+/, '').replace(/\r?\n$/, '');
    return { raw: text, line: endLine - (text.match(/\n/g)?.length ?? 0) };
  }
  // The common case, without regexes: no leading empty lines, at most a trailing line break to cut.
  let end = raw.length;
  if (raw.charCodeAt(end - 1) === 10) end -= raw.charCodeAt(end - 2) === 13 ? 2 : 1;
  else if (raw.charCodeAt(end - 1) === 13) end -= 1;
  const text = end === raw.length ? raw : raw.slice(0, end);
  let inner = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) inner++;
  return { raw: text, line: endLine - inner };
}

interface Run { parser: Parser; base: number; lineBase: number; fed: number; lastEnd: number; lastLine: number; openAtEnd: boolean; runaway: boolean }

type Recovery = 'end' | 'cap' | 'runaway';

/** The first line break (LF, CR or CRLF) in `b` from `from`: its index and length, or null. */
function lineBreak(b: Buffer, from: number): { at: number; length: number } | null {
  const lf = b.indexOf(10, from);
  const cr = b.indexOf(13, from);
  if (lf === -1 && cr === -1) return null;
  if (cr === -1 || (lf !== -1 && lf < cr)) return { at: lf, length: 1 };
  return { at: cr, length: b[cr + 1] === 10 ? 2 : 1 };
}

/** Cells of one physical CSV line, or -1 when it leaves a quote open. */
function cellsOnLine(line: string): number {
  let cells = 1;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 44 && !quoted) cells++;
  }
  return quoted ? -1 : cells;
}

/** A record the parser gave up on at the end of input because a quote never closed. */
const UNCLOSED = 'CSV_QUOTE_NOT_CLOSED';

/**
 * Every record comes with `next`: the byte offset just past it (in `body`'s bytes, counted from
 * `state.byte`) and the line it ends on, where a reader resumed with the same `state` goes on.
 * `state` is read at the start (a resumed file) and kept current: the header's width and whether
 * the file has shown bad UTF-8 are what the records after a boundary depend on.
 */
export async function* readCsvBatches(body: Readable, maxRecordBytes = MAX_RECORD_BYTES, state: ReaderState = { byte: 0, line: 0 }): AsyncGenerator<SourceRecord[]> {
  let out: SourceRecord[] = [];
  let failed: unknown = null;
  // Bytes fed to the current parser that no record has ended yet: the open record, at most the cap.
  let pending: Buffer = Buffer.alloc(0);
  let skipToNewline = false;
  let badUtf8 = state.badUtf8 ?? false;
  let headerWidth: number | null = state.headerWidth ?? null;
  let carry: Buffer = Buffer.alloc(0); // the incomplete character at the end of the last chunk
  const checkUtf8 = (chunk: Buffer) => {
    if (badUtf8) return;
    const all = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const cut = incompleteTail(all);
    carry = Buffer.from(all.subarray(all.length - cut));
    if (!isUtf8(all.subarray(0, all.length - cut))) badUtf8 = state.badUtf8 = true;
  };

  const start = (base: number, lineBase: number, first: boolean): Run => {
    const run: Run = { parser: null as unknown as Parser, base, lineBase, fed: 0, lastEnd: 0, lastLine: 0, openAtEnd: false, runaway: false };
    run.parser = parse({
      bom: first,
      record_delimiter: ['\r\n', '\n', '\r'], // mixed line endings in one export are common
      skip_empty_lines: true,
      relax_column_count: true, // a wrong cell count is a record-level defect, judged by the caller
      relax_quotes: true, // a stray quote inside a field is kept as text, not a parse error
      raw: true,
      skip_records_with_error: true,
      // With `raw`, csv-parse hands on_record { record, raw } (its typings say string[]).
      on_record: (rec, context) => {
        if (run.runaway) return null; // re-read by the next parser
        const { record, raw } = rec as unknown as { record: string[]; raw: string };
        const text = recordText(raw, lineBase + context.lines);
        // A quote left open pairs with a later quote: the record then spans lines that are whole
        // records themselves. Its first line is quarantined and the rest read again (recover).
        if (headerWidth === null) headerWidth = state.headerWidth = record.length;
        else if (/[\r\n]/.test(text.raw) && text.raw.split(/\r\n|\r|\n/).slice(1).some((l) => cellsOnLine(l) === headerWidth)) {
          run.runaway = true;
          return null;
        }
        run.lastEnd = context.bytes;
        run.lastLine = context.lines;
        const next = { byte: run.base + context.bytes, line: lineBase + context.lines };
        // csv-parse decodes bad bytes to U+FFFD; once the file has shown some, such a record is not loaded altered.
        if (badUtf8 && text.raw.includes('\uFFFD')) out.push({ ...text, broken: 'not valid UTF-8 (the raw zone keeps the exact bytes)', next });
        else out.push({ ...text, cells: record, next });
        return null; // collected here, nothing is pushed downstream
      },
      on_skip: (err, raw) => {
        if (run.runaway) return undefined;
        if (err?.code === UNCLOSED) {
          run.openAtEnd = true; // recovered by the caller from the pending bytes
          return undefined;
        }
        const at = recordText(raw ?? '', lineBase + Number((err as { lines?: unknown } | undefined)?.lines ?? 0));
        run.lastEnd = run.parser.info.bytes;
        run.lastLine = run.parser.info.lines;
        out.push({ ...at, broken: `unreadable CSV (${err?.code ?? 'parse error'}): ${err?.message ?? 'skipped by the parser'}`, next: { byte: run.base + run.lastEnd, line: lineBase + run.lastLine } });
        return undefined;
      },
    });
    run.parser.on('error', (err) => (failed ??= err));
    run.parser.resume(); // its readable side carries nothing; flowing lets it end
    return run;
  };

  let run = start(state.byte, state.line, state.byte === 0);
  let consumed = state.byte; // bytes of body read so far, as offsets
  const feed = (chunk: Buffer) => {
    checkUtf8(chunk);
    run.fed += chunk.length;
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    run.parser.write(chunk);
    pending = pending.subarray(pending.length - (run.fed - run.lastEnd));
  };
  /**
   * The open record began on the first non-empty line of `pending`: that line is quarantined, and a
   * new parser reads what follows it. `atEnd`: the input is complete (the quote never closed).
   */
  const recover = (kind: Recovery): Buffer | null => {
    let i = 0;
    let line = run.lineBase + run.lastLine + 1;
    while (pending[i] === 10 || pending[i] === 13) {
      if (pending[i] === 10 || pending[i + 1] !== 10) line++;
      i++;
    }
    const br = lineBreak(pending, i);
    const text = pending.toString('utf8', i, br ? br.at : pending.length);
    const pendingAt = run.base + run.fed - pending.length;
    // Where reading goes on: past the line break; at the end of the input; unknown yet for a line cut at the cap.
    const after = br ? pendingAt + br.at + br.length : pendingAt + pending.length;
    const why = kind === 'end' ? 'a quoted field is never closed before the end of the file'
      : kind === 'cap' ? `a record is longer than ${maxRecordBytes} bytes (a quoted field is never closed)`
      : 'a quoted field opened on this line closes only on a later line that is a whole record itself (the quote is not closed)';
    const next = br || kind !== 'cap' ? { byte: after, line } : undefined;
    out.push({ line, raw: text.slice(0, maxRecordBytes), broken: `unreadable CSV (line ${line}): ${why}; this line is quarantined and reading goes on at the next line`, next });
    run.parser.destroy();
    run = start(after, line, false);
    if (!br) {
      skipToNewline = kind === 'cap'; // the runaway line itself is longer than the cap: drop the rest of it
      pending = Buffer.alloc(0);
      return null;
    }
    const rest = pending.subarray(br.at + br.length);
    pending = Buffer.alloc(0);
    return rest;
  };
  const take = () => {
    if (failed) throw failed as Error;
    const batch = out;
    out = [];
    return batch;
  };

  for await (const piece of body as AsyncIterable<Buffer | string>) {
    let chunk: Buffer | null = typeof piece === 'string' ? Buffer.from(piece) : piece;
    const chunkAt = consumed;
    consumed += chunk.length;
    if (skipToNewline) {
      const br = lineBreak(chunk, 0);
      if (!br) continue;
      skipToNewline = false;
      chunk = chunk.subarray(br.at + br.length);
      run.base = chunkAt + br.at + br.length; // nothing was fed to this parser yet
    }
    while (chunk) {
      feed(chunk);
      chunk = run.runaway ? recover('runaway') : pending.length > maxRecordBytes ? recover('cap') : null;
    }
    const batch = take();
    if (batch.length) yield batch;
  }
  for (;;) {
    run.parser.end();
    await finished(run.parser);
    if (!run.openAtEnd && !run.runaway) break;
    const rest = recover(run.runaway ? 'runaway' : 'end');
    if (rest) feed(rest);
  }
  const batch = take();
  if (batch.length) yield batch;
}

/** Bytes at the end of `b` that start a UTF-8 character the next chunk completes (0 to 3). */
function incompleteTail(b: Buffer): number {
  for (let back = 1; back <= Math.min(3, b.length); back++) {
    const byte = b[b.length - back] as number;
    if ((byte & 0xc0) !== 0x80) {
      const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
      return need > back ? back : 0;
    }
  }
  return 0;
}
