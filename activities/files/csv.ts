/**
 * The CSV half of the purchase reader: csv-parse over a byte stream, records out in batches in file
 * order. csv-parse alone has two ways to lose a file to one bad quote: a field opened with `"` and
 * never closed swallows every later line into one record (held in memory), and its own
 * max_record_size stops emitting records altogether after the first oversized one. So the size cap
 * is kept here: when more than MAX_RECORD_BYTES have gone in since the last record ended, or the
 * file ends inside an open quote, the line where that record began is quarantined on its own and
 * parsing starts again, with a fresh parser, at the next line. Memory stays bounded by the cap.
 *
 * Plain lines are read here directly (split on line breaks and commas), not by csv-parse: on a
 * plain export that was about 40 % of a load's JavaScript time. A plain line has no quote, or only
 * well-formed quoted fields on one line (quotedCells). It gives exactly what csv-parse gives for such
 * lines (test/unit/csv-plain.test.ts compares the two on random input, chunked at random). Any other
 * line hands reading to a fresh csv-parse at that line; once csv-parse is between records again,
 * reading is handed back.
 */
import type { Readable } from 'node:stream';
import { isUtf8 } from 'node:buffer';
import { finished } from 'node:stream/promises';
import { parse, type Parser } from 'csv-parse';
import type { Position, ReaderState, SourceRecord } from './reader';

/** A purchase line is a few hundred bytes; a record past this is an unclosed quote, not data. */
export const MAX_RECORD_BYTES = 1 << 20;

/**
 * A record's text from csv-parse's raw (leading empty lines and its own line break cut), the line
 * breaks inside it (CRLF, CR or LF: one each; only a quoted field holds any), and how many of those
 * are CRLFs. csv-parse reports the line a record ends on, and counts a CRLF inside a quoted field
 * as two lines (its CR and its LF; between records a CRLF is one delimiter): the caller takes the
 * CRLFs off its count and the breaks off the end line, so the reference names the line the record
 * starts on, as an editor numbers it.
 */
export function recordText(raw: string): { raw: string; breaks: number; crlfs: number } {
  const first = raw.charCodeAt(0);
  let text: string;
  if (first === 10 || first === 13) {
    // The record's own line break is cut whatever it is (csv-parse gives a CRLF's CR only).
    text = raw.replace(/^(?:\r?\n|\r)+/, '').replace(/(?:\r?\n|\r)$/, '');
  } else {
    // The common case, without regexes: no leading empty lines, at most a trailing line break to cut.
    let end = raw.length;
    if (raw.charCodeAt(end - 1) === 10) end -= raw.charCodeAt(end - 2) === 13 ? 2 : 1;
    else if (raw.charCodeAt(end - 1) === 13) end -= 1;
    text = end === raw.length ? raw : raw.slice(0, end);
  }
  let lf = 0;
  let crlfs = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
    lf++;
    if (text.charCodeAt(i - 1) === 13) crlfs++;
  }
  let cr = 0;
  for (let i = text.indexOf('\r'); i !== -1; i = text.indexOf('\r', i + 1)) cr++;
  return { raw: text, breaks: lf + cr - crlfs, crlfs };
}

/** One csv-parse run. `crlfs`: the CRLFs inside quoted fields it has ended, each of which it counted as two lines. */
interface Run { parser: Parser; bom: boolean; base: number; lineBase: number; fed: number; lastEnd: number; lastLine: number; crlfs: number; openAtEnd: boolean; runaway: boolean; atRecordEnd: boolean }

/** Plain reading (no csv-parse): `at` and `line` are where `tail`, the bytes of a line not ended yet, begins. */
interface Plain { at: number; line: number; tail: Buffer }

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

/**
 * How many bytes csv-parse (7.x, these options) wants after a byte before it reads it: its
 * `needMoreDataSize`, 3 (the longest trim character) against the CRLF's 2. The plain reader ends
 * lines under the same rule, so records end, and the size cap applies, exactly as before
 * (test/unit/csv-plain.test.ts fails if this drifts).
 */
const CSV_PARSE_LOOKAHEAD = 3;

/**
 * The cells of one line whose quoted fields are plain: each opens the field, closes it right before a
 * comma or the line's end, and holds no quote but doubled ones (`""`), nor a line break. Anything
 * else (a quote inside an unquoted field, text after a closing quote, a quote open at the line's end)
 * is null: csv-parse reads such a line, with its relaxed rules.
 */
function quotedCells(line: string): string[] | null {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === 34) {
      let field = '';
      let from = i + 1;
      for (;;) {
        const q = line.indexOf('"', from);
        if (q === -1) return null;
        if (line.charCodeAt(q + 1) === 34) {
          field += line.slice(from, q + 1);
          from = q + 2;
          continue;
        }
        field += line.slice(from, q);
        i = q + 1;
        break;
      }
      if (i < line.length && line.charCodeAt(i) !== 44) return null;
      cells.push(field);
    } else {
      const comma = line.indexOf(',', i);
      const end = comma === -1 ? line.length : comma;
      const field = line.slice(i, end);
      if (field.includes('"')) return null;
      cells.push(field);
      i = end;
    }
    if (i >= line.length) return cells;
    i++; // past the comma
    if (i === line.length) {
      cells.push('');
      return cells;
    }
  }
}

/** A record the parser gave up on at the end of input because a quote never closed. */
const UNCLOSED = 'CSV_QUOTE_NOT_CLOSED';

/**
 * Every record comes with `next`: the byte offset just past it (in `body`'s bytes, counted from
 * `state.byte`) and the line it ends on, where a reader resumed with the same `state` goes on.
 * `state` is read at the start (a resumed file) and kept current: the header's width and whether
 * the file has shown bad UTF-8 are what the records after a boundary depend on.
 */
export async function* readCsvBatches(body: Readable, maxRecordBytes = MAX_RECORD_BYTES, state: ReaderState = { byte: 0, line: 0 }, plainLines = true): AsyncGenerator<SourceRecord[]> {
  let out: SourceRecord[] = [];
  let failed: unknown = null;
  // Bytes fed to the current parser that no record has ended yet: the open record, at most the cap.
  let pending: Buffer = Buffer.alloc(0);
  let skipToNewline = false;
  // A line was skipped up to a CR that ended the bytes at hand: an LF starting the next chunk is that CR's CRLF.
  let skipLf = false;
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

  /** A record out, as its cells; once the file has shown bad bytes, one holding U+FFFD is not loaded altered. */
  const emit = (line: number, raw: string, cells: string[], next: Position) => {
    if (badUtf8 && raw.includes('\uFFFD')) out.push({ line, raw, broken: 'not valid UTF-8 (the raw zone keeps the exact bytes)', next });
    else out.push({ line, raw, cells, next });
  };

  const start = (base: number, lineBase: number, first: boolean): Run => {
    const run: Run = { parser: null as unknown as Parser, bom: first, base, lineBase, fed: 0, lastEnd: 0, lastLine: 0, crlfs: 0, openAtEnd: false, runaway: false, atRecordEnd: true };
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
        const text = recordText(raw);
        const lines = context.lines - run.crlfs - text.crlfs; // the record's last line, from lineBase
        // A quote left open pairs with a later quote: the record then spans lines that are whole
        // records themselves. Its first line is quarantined and the rest read again (recover).
        if (headerWidth === null) headerWidth = state.headerWidth = record.length;
        else if (/[\r\n]/.test(text.raw) && text.raw.split(/\r\n|\r|\n/).slice(1).some((l) => cellsOnLine(l) === headerWidth)) {
          run.runaway = true;
          return null;
        }
        run.crlfs += text.crlfs;
        run.lastEnd = context.bytes;
        run.lastLine = lines;
        run.atRecordEnd = true;
        records++;
        // csv-parse decodes bad bytes to U+FFFD (emit judges them).
        emit(lineBase + lines - text.breaks, text.raw, record, { byte: run.base + context.bytes, line: lineBase + lines });
        return null; // collected here, nothing is pushed downstream
      },
      on_skip: (err, raw) => {
        if (run.runaway) return undefined;
        if (err?.code === UNCLOSED) {
          run.openAtEnd = true; // recovered by the caller from the pending bytes
          return undefined;
        }
        const text = recordText(raw ?? '');
        run.crlfs += text.crlfs;
        const at = { raw: text.raw, line: lineBase + Number((err as { lines?: unknown } | undefined)?.lines ?? 0) - run.crlfs - text.breaks };
        run.lastEnd = run.parser.info.bytes;
        run.lastLine = run.parser.info.lines - run.crlfs;
        run.atRecordEnd = false; // the parser may be inside the rest of the record it skips
        out.push({ ...at, broken: `unreadable CSV (${err?.code ?? 'parse error'}): ${err?.message ?? 'skipped by the parser'}`, next: { byte: run.base + run.lastEnd, line: lineBase + run.lastLine } });
        return undefined;
      },
    });
    run.parser.on('error', (err) => (failed ??= err));
    run.parser.resume(); // its readable side carries nothing; flowing lets it end
    return run;
  };

  let records = 0; // ended by csv-parse
  let firstByte = -1;
  // A file that starts with a UTF-16LE BOM, which csv-parse (bom) reads as UTF-16: known from its first two bytes.
  let utf16: boolean | null = state.byte === 0 ? null : false;
  let run = start(state.byte, state.line, state.byte === 0);
  let consumed = state.byte; // bytes of body read so far, as offsets
  const feed = (chunk: Buffer) => {
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
    // A CR that ends the bytes at hand may be half a CRLF: where reading goes on is known only with
    // the next chunk, so this record says nothing of it (a piece is not cut here).
    skipLf = kind !== 'end' && br !== null && br.length === 1 && pending[br.at] === 13 && br.at + 1 === pending.length;
    const next = (br || kind !== 'cap') && !skipLf ? { byte: after, line } : undefined;
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

  /**
   * Plain reading: the whole lines of `tail` + `chunk` before the first quote become records here.
   * Returns the bytes from the end of the last record on, with a csv-parse run started there to read
   * them (the same state a run reading all along would be in: the size cap counts the same bytes),
   * or null when every line was read (a line not ended yet, and empty lines since the last record,
   * stay in `tail`). `chunk` null: the input has ended; a last line without a line break is a record.
   */
  const readPlain = (p: Plain, chunk: Buffer | null): Buffer | null => {
    const buf = !p.tail.length ? chunk ?? p.tail : chunk ? Buffer.concat([p.tail, chunk]) : p.tail;
    let pos = 0; // where the next line starts
    let line = p.line; // lines ended before pos
    let kept = 0; // where the last record ended (after its line break), and its line
    let keptLine = p.line;
    let lf = buf.indexOf(10);
    let cr = buf.indexOf(13);
    let quote = buf.indexOf(34);
    let handOver = false;
    for (;;) {
      if (lf !== -1 && lf < pos) lf = buf.indexOf(10, pos);
      if (cr !== -1 && cr < pos) cr = buf.indexOf(13, pos);
      if (quote !== -1 && quote < pos) quote = buf.indexOf(34, pos);
      const at = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      if (at === -1) break;
      // csv-parse reads a byte only once CSV_PARSE_LOOKAHEAD more have come (a CR may be half a CRLF),
      // and the size cap counts what it has not read: a line ends here under the same rule.
      if (chunk && buf.length - at - 1 < CSV_PARSE_LOOKAHEAD) break;
      const next = at + (at === cr && buf[at + 1] === 10 ? 2 : 1);
      if (at > pos) {
        const raw = buf.toString('utf8', pos, at);
        const cells = quote === -1 || quote >= at ? raw.split(',') : quotedCells(raw);
        if (!cells) {
          handOver = true;
          break;
        }
        plainRecord(raw, cells, { byte: p.at + next, line: line + 1 });
        kept = next;
        keptLine = line + 1;
      }
      line++;
      pos = next;
    }
    // The last line of the input, without a line break.
    if (!handOver && !chunk && pos < buf.length) {
      const raw = buf.toString('utf8', pos, buf.length);
      const cells = quote === -1 ? raw.split(',') : quotedCells(raw);
      if (cells) {
        plainRecord(raw, cells, { byte: p.at + buf.length, line: line + 1 });
        kept = buf.length;
        keptLine = line + 1;
      } else handOver = true;
    }
    if (handOver || buf.length - kept > maxRecordBytes) {
      // csv-parse reads on from the last record's end (an overlong line is cut at the size cap there).
      plain = null;
      run = start(p.at + kept, keptLine, false);
      pending = Buffer.alloc(0);
      return buf.subarray(kept);
    }
    p.at += kept;
    p.line = keptLine;
    p.tail = chunk ? buf.subarray(kept) : Buffer.alloc(0);
    return null;
  };
  /** One non-empty line read plainly, as csv-parse's on_record would give it. */
  const plainRecord = (raw: string, cells: string[], next: Position) => {
    if (headerWidth === null) headerWidth = state.headerWidth = cells.length;
    emit(next.line, raw, cells, next);
  };
  /**
   * Plain reading takes over when csv-parse has ended a record in this chunk (so a quote left open
   * across chunks is not read again chunk after chunk), its last act was a record's end (not a record
   * it skips), and it cannot still strip a BOM: a fresh start at that record's end reads what follows
   * as the running parser would. A quote opened after it in the same chunk is handed straight back by
   * readPlain, at the cost of that chunk's tail read twice. Never for a file csv-parse reads as
   * UTF-16 (its BOM `FF FE`): the plain reader splits UTF-8 bytes. (readPurchaseBatches transcodes
   * UTF-16 files before this reader, so only a direct caller's input gets here with that BOM.)
   */
  const toPlain = (recordsBefore: number) => {
    if (!plainLines || utf16 !== false || skipToNewline || run.runaway || !run.atRecordEnd || records === recordsBefore || (run.bom && run.lastEnd === 0)) return;
    run.parser.destroy();
    plain = { at: run.base + run.lastEnd, line: run.lineBase + run.lastLine, tail: Buffer.from(pending) };
    pending = Buffer.alloc(0);
  };

  let plain: Plain | null = null;
  const feedAll = (bytes: Buffer | null) => {
    for (let chunk = bytes; chunk; ) {
      feed(chunk);
      chunk = run.runaway ? recover('runaway') : pending.length > maxRecordBytes ? recover('cap') : null;
    }
  };
  for await (const piece of body as AsyncIterable<Buffer | string>) {
    let chunk: Buffer | null = typeof piece === 'string' ? Buffer.from(piece) : piece;
    const chunkAt = consumed;
    consumed += chunk.length;
    // Every byte is checked in order, those of a line being skipped too: an unfinished character is
    // finished by the bytes that follow it, not by those after a skip.
    checkUtf8(chunk);
    if (skipLf) {
      skipLf = false;
      if (chunk[0] === 10) {
        chunk = chunk.subarray(1);
        const reading = plain as Plain | null; // set by toPlain, which TypeScript does not follow
        if (reading) reading.at++; // nothing was read past the CR yet, by either reader
        else run.base++;
        if (!chunk.length) continue;
      }
    }
    if (skipToNewline) {
      const br = lineBreak(chunk, 0);
      if (!br) continue;
      skipToNewline = false;
      skipLf = br.length === 1 && chunk[br.at] === 13 && br.at + 1 === chunk.length;
      chunk = chunk.subarray(br.at + br.length);
      run.base = chunkAt + br.at + br.length; // nothing was fed to this parser yet
    }
    if (utf16 === null && chunkAt + chunk.length >= 2) utf16 = (chunkAt === 0 ? chunk[0] : firstByte) === 0xff && chunk[1 - chunkAt] === 0xfe;
    if (chunkAt === 0 && chunk.length) firstByte = chunk[0] as number;
    const recordsBefore = records;
    feedAll(plain ? readPlain(plain, chunk) : chunk);
    if (!plain) toPlain(recordsBefore);
    const batch = take();
    if (batch.length) yield batch;
  }
  // A character cut off by the end of the file is bad UTF-8 too (the last record holds its U+FFFD).
  if (carry.length && !badUtf8) badUtf8 = state.badUtf8 = true;
  if (plain) feedAll(readPlain(plain, null));
  if (!plain) {
    for (;;) {
      run.parser.end();
      await finished(run.parser);
      // Records the parser still held (its look-ahead) came out at the end: they are not pending.
      pending = pending.subarray(pending.length - (run.fed - run.lastEnd));
      if (!run.openAtEnd && !run.runaway) break;
      const more = recover(run.runaway ? 'runaway' : 'end');
      if (more) feed(more);
    }
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
