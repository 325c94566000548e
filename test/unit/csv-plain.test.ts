/**
 * Plain lines (no quote, or well-formed quoted fields) are read by csv.ts itself, not by csv-parse. These tests compare the two
 * ways on random input, chunked at random: every record (cells, text, line, where reading goes on,
 * why it is broken) and the reader state must be the same as csv-parse alone gives.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readCsvBatches } from '../../activities/files/csv';
import type { ReaderState, SourceRecord } from '../../activities/files/reader';

/** mulberry32: the same cases on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FRAGMENTS: Buffer[] = [
  'a', 'b', 'Z', '7', '0.5', ',', ',', ',', ' ', '\n', '\n', '\r\n', '\r', '"', '""', 'é', '€', '😀', '\uFFFD', '\t', 'x\u0000',
].map((s) => Buffer.from(s)).concat([Buffer.from([0xff]), Buffer.from([0xe2]), Buffer.from([0xe2, 0x82]), Buffer.from([0xef, 0xbb, 0xbf])]);

function randomInput(rand: () => number): Buffer {
  const parts: Buffer[] = [];
  // A BOM: UTF-8, or UTF-16LE (which csv-parse then reads as UTF-16, and so must every line).
  if (rand() < 0.2) parts.push(Buffer.from(rand() < 0.7 ? [0xef, 0xbb, 0xbf] : [0xff, 0xfe]));
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
  // Mostly CSV-like lines (the fast path), with hostile fragments mixed in at a varying rate.
  const hostility = rand() * 0.3;
  const lines = 1 + Math.floor(rand() * 40);
  for (let l = 0; l < lines; l++) {
    const cells = 1 + Math.floor(rand() * 5);
    for (let c = 0; c < cells; c++) {
      if (c) parts.push(Buffer.from(','));
      const len = rand() < 0.05 ? 100 + Math.floor(rand() * 200) : Math.floor(rand() * 8);
      // A quoted cell, well formed or not: commas, doubled quotes and line breaks inside, text after it.
      const quoted = rand() < 0.25;
      if (quoted) parts.push(Buffer.from(rand() < 0.1 ? ' "' : '"'));
      for (let i = 0; i < len; i++) parts.push(rand() < hostility ? pick(FRAGMENTS) : Buffer.from(pick(quoted ? ['a', 'b', '1', ',', '""', ' ', '\n'] : ['a', 'b', '1', '-', '.', ' '])));
      if (quoted && rand() < 0.9) parts.push(Buffer.from(rand() < 0.1 ? '"x' : '"'));
    }
    if (!(l === lines - 1 && rand() < 0.3)) parts.push(Buffer.from(pick(['\n', '\n', '\r\n', '\r', '\n\n', '\r\n\r\n'])));
  }
  return Buffer.concat(parts);
}

/** `chunks`: a seed for random chunk sizes, or one fixed size. */
function chunked(buf: Buffer, chunks: { seed: number } | { size: number }): Readable {
  const parts: Buffer[] = [];
  const rand = 'seed' in chunks ? prng(chunks.seed) : null;
  const max = rand ? (rand() < 0.5 ? 8 : 300) : 0;
  for (let i = 0; i < buf.length; ) {
    const n = rand ? 1 + Math.floor(rand() * max) : (chunks as { size: number }).size;
    parts.push(buf.subarray(i, i + n));
    i += n;
  }
  return Readable.from(parts);
}

async function read(buf: Buffer, chunks: { seed: number } | { size: number }, maxBytes: number, state: ReaderState, plain: boolean): Promise<{ records: SourceRecord[]; state: ReaderState }> {
  const records: SourceRecord[] = [];
  const own = { ...state };
  for await (const batch of readCsvBatches(chunked(buf.subarray(state.byte), chunks), maxBytes, own, plain)) records.push(...batch);
  return { records, state: own };
}

describe('reading plain CSV lines without csv-parse', () => {
  it('gives what csv-parse alone gives, on 3,000 random inputs chunked at random', async () => {
    const rand = prng(20261205);
    let plainRecords = 0;
    for (let c = 0; c < 3000; c++) {
      const input = randomInput(rand);
      const maxBytes = rand() < 0.3 ? 16 + Math.floor(rand() * 200) : 1 << 20;
      // Some readers resume part-way, as a file loaded in pieces does (the offset need not be a line start here: both must agree anyway).
      const state: ReaderState = rand() < 0.2 ? { byte: Math.floor(rand() * input.length), line: 5, headerWidth: rand() < 0.5 ? 3 : null, badUtf8: rand() < 0.3 } : { byte: 0, line: 0 };
      const chunks = { seed: Math.floor(rand() * 1e9) };
      const parsed = await read(input, chunks, maxBytes, state, false);
      const plain = await read(input, chunks, maxBytes, state, true);
      expect(plain, `case ${c}: ${JSON.stringify(input.toString('latin1'))}, max ${maxBytes}, state ${JSON.stringify(state)}`).toEqual(parsed);
      plainRecords += parsed.records.length;
    }
    expect(plainRecords).toBeGreaterThan(20_000);
  });

  it('gives the same records for a large plain export with a few quoted lines, in 64 KB chunks', async () => {
    const lines = ['CustomerID,OrderID,OrderDate,ProductID,ProductName,Quantity,Price,Total'];
    for (let i = 0; i < 20_000; i++) {
      const name = i % 997 === 0 ? `"Widget, size ${i}"` : i % 1499 === 0 ? `"two\nlines ${i}"` : `Widget ${i}`;
      lines.push(`C${i % 300},O${i},2024-02-29,P${i % 50},${name},${1 + (i % 3)},9.99,${(9.99 * (1 + (i % 3))).toFixed(2)}`);
    }
    const input = Buffer.from(lines.join('\r\n') + '\n');
    const parsed = await read(input, { size: 1 << 16 }, 1 << 20, { byte: 0, line: 0 }, false);
    const plain = await read(input, { size: 1 << 16 }, 1 << 20, { byte: 0, line: 0 }, true);
    expect(parsed.records).toHaveLength(20_001);
    expect(plain).toEqual(parsed);
    const quoted = plain.records[998];
    expect(quoted && 'cells' in quoted ? quoted.cells[4] : null).toBe('Widget, size 997');
  });
});

describe('line numbers', () => {
  /** Each record's first line and where reading goes on, read in chunks of `size`. */
  const lines = async (input: string, size: number, plain: boolean, maxBytes = 1 << 20) =>
    (await read(Buffer.from(input), { size }, maxBytes, { byte: 0, line: 0 }, plain)).records.map((r) => [r.line, r.next?.line, 'broken' in r ? 'broken' : r.raw]);

  it('count a line break inside a quoted field once, whether it is CRLF, CR or LF, in any chunking', async () => {
    const input = 'id,note\r\na,"x\r\ny"\r\nb,"p\rq"\r\nc,plain\r\nd,"m\nn"\ne,"two\r\nbreaks\r\nhere"\r\nf,last\r\n';
    const expected = [[1, 1, 'id,note'], [2, 3, 'a,"x\r\ny"'], [4, 5, 'b,"p\rq"'], [6, 6, 'c,plain'], [7, 8, 'd,"m\nn"'], [9, 11, 'e,"two\r\nbreaks\r\nhere"'], [12, 12, 'f,last']];
    for (const size of [1, 2, 3, 5, 7, 64, 4096]) {
      for (const plain of [true, false]) expect(await lines(input, size, plain), `chunks of ${size}, plain ${plain}`).toEqual(expected);
    }
  });

  it('name the right line after a record cut at the size cap, when a CRLF falls across a chunk edge', async () => {
    // Line 3 opens a quote that never closes and runs past the cap (40 bytes): it is quarantined, and line 4 is read again.
    const input = `id,note\r\na,1\r\nb,"${'x'.repeat(60)}\r\nc,2\r\nd,3\r\n`;
    for (const size of [1, 2, 3, 4, 5, 9, 13, 16, 17]) {
      for (const plain of [true, false]) {
        const got = await lines(input, size, plain, 40);
        expect(got.filter((r) => r[2] !== 'broken'), `chunks of ${size}, plain ${plain}`).toEqual([[1, 1, 'id,note'], [2, 2, 'a,1'], [4, 4, 'c,2'], [5, 5, 'd,3']]);
        expect(got.filter((r) => r[2] === 'broken').map((r) => r[0]), `chunks of ${size}, plain ${plain}`).toEqual([3]);
      }
    }
  });

  it('never lets a resume start between the CR and LF of a line skipped at the size cap, in any chunking', async () => {
    // Line 3 opens a quote, so the lines after it pile up until the cap (40 bytes) cuts them: line 3
    // is quarantined, and where its CR ends a chunk, the LF comes only with the next one.
    let resumes = 0;
    for (let xs = 20; xs <= 44; xs += 3) {
      const input = `id,note\r\na,1\r\nb,"${'x'.repeat(xs)}\r\nc,2\r\nd,3\r\ne,4\r\n`;
      for (let size = 1; size <= 48; size++) {
        for (const plain of [true, false]) {
          const whole = (await read(Buffer.from(input), { size }, 40, { byte: 0, line: 0 }, plain)).records;
          const at = `line of ${xs + 4} bytes, chunks of ${size}, plain ${plain}`;
          expect(whole.map((r) => ('broken' in r ? -r.line : r.line)), at).toEqual([1, 2, -3, 4, 5, 6]);
          for (const [i, r] of whole.entries()) {
            if (!r.next) continue;
            const rest = (await read(Buffer.from(input), { size }, 40, { byte: r.next.byte, line: r.next.line, headerWidth: 2 }, plain)).records;
            expect(rest.map((x) => [x.line, x.raw]), `${at}, resumed after line ${r.line}`).toEqual(whole.slice(i + 1).map((x) => [x.line, x.raw]));
            resumes++;
          }
        }
      }
    }
    expect(resumes).toBeGreaterThan(2000);
  });
});
