import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { decodeCopyCell, mapCopyLines, rewriteCell } from '../../lib/copy-transfer';

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
  });
});
