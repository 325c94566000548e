import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import type { Transform } from 'node:stream';
import { decodeCopyCell, mapCopyBinaryCell, mapCopyLines, rewriteCell } from '../../lib/copy-transfer';

/** Streams `chunks` through mapCopyLines(map) and decodes the whole output once, at the end. */
async function run(chunks: Buffer[], map: (line: string) => string): Promise<string> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks, { objectMode: false }), mapCopyLines(map), async (source: AsyncIterable<Buffer>) => {
    for await (const c of source) out.push(Buffer.from(c));
  });
  return Buffer.concat(out).toString('utf8');
}

const splitAt = (buf: Buffer, i: number) => [buf.subarray(0, i), buf.subarray(i)].filter((b) => b.length > 0);
const bytewise = (buf: Buffer) => Array.from({ length: buf.length }, (_, i) => buf.subarray(i, i + 1));
const renameUser = rewriteCell(0, (id) => `p-${id}`);

// Names of 2-, 3- and 4-byte UTF-8 characters, at the start, middle and end of their cell.
const NAMES = ['Zoë Brontë', '€uro', 'Chloé 😀', '😀', 'ë€😀ë'];
const input = NAMES.map((n, i) => `U${i}\t${n}\tDE\n`).join('');
const expected = NAMES.map((n, i) => `p-U${i}\t${n}\tDE\n`).join('');

describe('mapCopyLines: multi-byte characters across chunk boundaries', () => {
  it('keeps every character whichever byte a chunk ends on', async () => {
    const bytes = Buffer.from(input, 'utf8');
    for (let i = 0; i <= bytes.length; i++) {
      const got = await run(splitAt(bytes, i), renameUser);
      expect(got.includes('\uFFFD'), `split at byte ${i}`).toBe(false);
      expect(got, `split at byte ${i}`).toBe(expected);
    }
  });

  it('keeps every character when each chunk is a single byte', async () => {
    const got = await run(bytewise(Buffer.from(input, 'utf8')), renameUser);
    expect(got).toBe(expected);
  });

  it('maps a last line without a newline on flush, split mid-character', async () => {
    const bytes = Buffer.from('U1\tAnna\nU2\tJosé 😀', 'utf8');
    for (let i = 0; i <= bytes.length; i++) {
      expect(await run(splitAt(bytes, i), renameUser), `split at byte ${i}`).toBe('p-U1\tAnna\np-U2\tJosé 😀\n');
    }
    expect(await run(bytewise(bytes), renameUser)).toBe('p-U1\tAnna\np-U2\tJosé 😀\n');
  });

  it('passes nothing through for empty input', async () => {
    expect(await run([], renameUser)).toBe('');
  });
});

describe('rewriteCell over COPY text cells', () => {
  // The user id cell is rewritten to the hex of its decoded value, so escapes must be decoded first.
  const hexUser = rewriteCell(1, (v) => Buffer.from(v, 'utf8').toString('hex'));

  it('keeps \\N and blank ids null, decodes escaped ids, and leaves other cells encoded', async () => {
    const lines = [
      'e1\t\\N\tZoë\n',
      'e2\t \tZoë\n',
      'e3\tu\\tX\\\\ë\ta\\tb\\\\c\\n€\n',
      'e4\t\\\\N\t\\N\n',
    ].join('');
    const want = [
      'e1\t\\N\tZoë\n',
      'e2\t\\N\tZoë\n',
      `e3\t${Buffer.from('u\tX\\ë').toString('hex')}\ta\\tb\\\\c\\n€\n`,
      `e4\t${Buffer.from('\\N').toString('hex')}\t\\N\n`,
    ].join('');
    const bytes = Buffer.from(lines, 'utf8');
    for (let i = 0; i <= bytes.length; i++) expect(await run(splitAt(bytes, i), hexUser), `split at byte ${i}`).toBe(want);
  });

  it('rewrites the last cell of a line and the first, and leaves the others byte for byte', () => {
    const last = rewriteCell(2, (v) => `<${v}>`);
    expect(last('a\\tb\tZoë\tu 1')).toBe('a\\tb\tZoë\t<u 1>');
    expect(last('a\tb\t\\N')).toBe('a\tb\t\\N');
    expect(rewriteCell(0, (v) => `<${v}>`)('u\\\\2\tx')).toBe('<u\\2>\tx');
  });

  it('decodes COPY escapes of one cell', () => {
    expect(decodeCopyCell('\\N')).toBeNull();
    expect(decodeCopyCell('a\\tb\\nc\\rd\\\\e')).toBe('a\tb\nc\rd\\e');
    // COPY TO also writes \b, \f and \v for those control characters: read as the letter, an id
    // holding one got the pseudonym of another string.
    expect(decodeCopyCell('u\\b1\\f2\\v3')).toBe('u\b1\f2\v3');
  });
});

/** A COPY BINARY stream as PostgreSQL writes it: header (with an extension of `ext` bytes), tuples, trailer. */
function binaryCopy(rows: (string | null)[][], ext = 0): Buffer {
  const int = (n: number, bytes: 2 | 4) => {
    const b = Buffer.alloc(bytes);
    if (bytes === 2) b.writeInt16BE(n);
    else b.writeInt32BE(n);
    return b;
  };
  const parts = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), int(0, 4), int(ext, 4), Buffer.alloc(ext, 7)];
  for (const row of rows) {
    parts.push(int(row.length, 2));
    for (const cell of row) {
      if (cell === null) parts.push(int(-1, 4));
      else {
        const bytes = Buffer.from(cell, 'utf8');
        parts.push(int(bytes.length, 4), bytes);
      }
    }
  }
  parts.push(int(-1, 2));
  return Buffer.concat(parts);
}

async function runBinary(chunks: Buffer[], transform: Transform): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks, { objectMode: false }), transform, async (source: AsyncIterable<Buffer>) => {
    for await (const c of source) out.push(Buffer.from(c));
  });
  return Buffer.concat(out);
}

describe('mapCopyBinaryCell over COPY BINARY tuples', () => {
  const hex = (v: string) => Buffer.from(v, 'utf8').toString('hex');
  const rows: [string, string | null, string | null][] = [['e1', 'Zoë 😀', 'DE'], ['e2', null, 'FR'], ['e3', '  ', null], ['€4', 'u\tX', ''], ['e5', 'ë€😀ë', 'x'.repeat(300)]];
  const want = binaryCopy(rows.map(([a, user, c]) => [a, user === null || user.trim() === '' ? null : hex(user), c ?? null]));

  it('rewrites one field of every tuple, null and blank to null, whichever byte a chunk ends on', async () => {
    const bytes = binaryCopy(rows);
    for (let i = 0; i <= bytes.length; i++) {
      expect((await runBinary(splitAt(bytes, i), mapCopyBinaryCell(1, hex))).equals(want), `split at byte ${i}`).toBe(true);
    }
    expect((await runBinary(bytewise(bytes), mapCopyBinaryCell(1, hex))).equals(want)).toBe(true);
  });

  it('passes a header extension through and rewrites the first or the last field', async () => {
    const withExt = binaryCopy(rows, 5);
    const first = binaryCopy(rows.map(([a, b, c]) => [`<${a}>`, b, c]), 5);
    expect((await runBinary(bytewise(withExt), mapCopyBinaryCell(0, (v) => `<${v}>`))).equals(first)).toBe(true);
    const last = binaryCopy(rows.map(([a, b, c]) => [a, b, c === null || c === '' ? null : c.slice(0, 3)]));
    expect((await runBinary(splitAt(binaryCopy(rows), 40), mapCopyBinaryCell(2, (v) => v.slice(0, 3)))).equals(last)).toBe(true);
  });

  it('refuses a stream cut at a tuple boundary before its trailer, one that goes on after it, and a negative header extension', async () => {
    const whole = binaryCopy(rows);
    await expect(runBinary([whole.subarray(0, whole.length - 2)], mapCopyBinaryCell(1, hex))).rejects.toThrow(/without its trailer/);
    await expect(runBinary([whole, whole.subarray(19)], mapCopyBinaryCell(1, hex))).rejects.toThrow(/after its trailer/);
    await expect(runBinary([whole, Buffer.from([1])], mapCopyBinaryCell(1, hex))).rejects.toThrow(/after its trailer \(1 bytes\)/);
    const negative = Buffer.from(whole);
    negative.writeInt32BE(-1, 15);
    await expect(runBinary([negative], mapCopyBinaryCell(1, hex))).rejects.toThrow(/header extension/);
    await expect(runBinary([whole.subarray(0, 12)], mapCopyBinaryCell(1, hex))).rejects.toThrow(/inside its header/);
  });

  it('refuses a stream without the signature, and one that ends inside a tuple', async () => {
    await expect(runBinary([Buffer.from('e1\tu1\tDE\n'.repeat(3))], mapCopyBinaryCell(1, hex))).rejects.toThrow(/signature/);
    const cut = binaryCopy(rows).subarray(0, 40);
    await expect(runBinary([cut], mapCopyBinaryCell(1, hex))).rejects.toThrow(/inside a tuple/);
  });
});
