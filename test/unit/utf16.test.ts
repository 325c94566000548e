/**
 * UTF-16 purchase files (Excel's "Unicode" exports) are transcoded to UTF-8 before the readers
 * (activities/files/utf16.ts): in any chunking, a surrogate pair or code unit cut by a chunk edge
 * stays whole, and text that is not UTF-16 is judged as bad UTF-8 is.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readPurchaseBatches, type SourceRecord } from '../../activities/files/reader';
import { resumeRead } from '../../activities/files/load';
import { decodedText, utf16Bom } from '../../activities/files/utf16';

const chunks = (buf: Buffer, size: number) => {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return parts;
};
const utf16be = (s: string) => Buffer.from(s, 'utf16le').swap16();

async function decode(file: Buffer, size: number, state: { byte: number; encoding?: 'utf-16le' | 'utf-16be' } = { byte: 0 }): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of decodedText(Readable.from(chunks(file, size)), state)) out.push(b);
  return Buffer.concat(out);
}

async function records(file: Buffer, format: 'csv' | 'jsonl'): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const batch of readPurchaseBatches(Readable.from(chunks(file, 5)), { format, gzip: false })) out.push(...batch);
  return out;
}

describe('UTF-16 purchase files', () => {
  const text = 'id,name\r\n1,Café 😀 €\r\n2,"Ĳssel\r\nstraße"\r\n';

  it('knows the BOM of either byte order, and nothing else', () => {
    expect(utf16Bom(Buffer.from([0xff, 0xfe, 0x41, 0]))).toBe('utf-16le');
    expect(utf16Bom(Buffer.from([0xfe, 0xff, 0, 0x41]))).toBe('utf-16be');
    expect(utf16Bom(Buffer.from([0xef, 0xbb, 0xbf]))).toBeNull();
    expect(utf16Bom(Buffer.from([0xff]))).toBeNull();
  });

  it('transcodes either byte order to UTF-8 in any chunking, the BOM left out, and says which it was', async () => {
    for (const [encoding, file] of [['utf-16le', Buffer.from(`\uFEFF${text}`, 'utf16le')], ['utf-16be', utf16be(`\uFEFF${text}`)]] as const) {
      for (const size of [1, 2, 3, 4, 5, 7, 64]) {
        const state: { byte: number; encoding?: string } = { byte: 0 };
        expect((await decode(file, size, state as { byte: number })).toString('utf8'), `${encoding}, chunks of ${size}`).toBe(text);
        expect(state.encoding).toBe(encoding);
      }
      // A resumed read is given the whole file and the encoding found at its start.
      expect((await decode(file, 3, { byte: 10, encoding })).toString('utf8')).toBe(text);
    }
  });

  it('passes a file without a UTF-16 BOM through as it is, a short one too', async () => {
    for (const file of [Buffer.from(`\uFEFF${text}`), Buffer.from(text), Buffer.from([0xff]), Buffer.alloc(0)]) {
      const state: { byte: number; encoding?: string } = { byte: 0 };
      expect((await decode(file, 1, state as { byte: number })).equals(file)).toBe(true);
      expect(state.encoding).toBeUndefined();
    }
  });

  it('turns a lone surrogate or a cut code unit into a byte that is not UTF-8', async () => {
    const lone = Buffer.concat([Buffer.from('\uFEFFa', 'utf16le'), Buffer.from([0x00, 0xd8]), Buffer.from('b', 'utf16le'), Buffer.from([0x41])]);
    for (const size of [1, 2, 3]) expect([...(await decode(lone, size))]).toEqual([0x61, 0xff, 0x62, 0xff]);
    const highAtEnd = Buffer.concat([Buffer.from('\uFEFFa', 'utf16le'), Buffer.from([0x3d, 0xd8])]);
    expect([...(await decode(highAtEnd, 2))]).toEqual([0x61, 0xff]);
  });

  it('reads a UTF-16 CSV as its text: cells, raw lines and line numbers; a record with a lone surrogate is quarantined', async () => {
    const file = Buffer.concat([Buffer.from(`\uFEFF${text}3,bad `, 'utf16le'), Buffer.from([0x00, 0xdc]), Buffer.from('\r\n4,ok\r\n', 'utf16le')]);
    const got = await records(file, 'csv');
    expect(got.map((r) => [r.line, r.raw, 'cells' in r ? r.cells : 'broken' in r ? r.broken : null])).toEqual([
      [1, 'id,name', ['id', 'name']],
      [2, '1,Café 😀 €', ['1', 'Café 😀 €']],
      [3, '2,"Ĳssel\r\nstraße"', ['2', 'Ĳssel\r\nstraße']],
      [5, '3,bad \uFFFD', 'not valid UTF-8 (the raw zone keeps the exact bytes)'],
      [6, '4,ok', ['4', 'ok']],
    ]);
  });

  it('reads UTF-16 JSON lines', async () => {
    const got = await records(utf16be('\uFEFF{"CustomerID":"U1","name":"Zoë"}\r\n\r\n{"CustomerID":"U2"}\n'), 'jsonl');
    expect(got.map((r) => [r.line, 'value' in r ? r.value : null])).toEqual([[1, { CustomerID: 'U1', name: 'Zoë' }], [3, { CustomerID: 'U2' }]]);
  });

  it('a resumed load reads a UTF-16 or gzip file whole (its offsets are of the text), a plain UTF-8 one from where it stopped', () => {
    const done = (state: Record<string, unknown>) => [{ piece: 1, endLine: 10, endByte: 500, attempt: 1, counts: { received: 9, loaded: 9, quarantined: 0, duplicates: 0 }, state }];
    const csv = { format: 'csv', gzip: false } as const;
    expect(resumeRead(csv, [])).toEqual({ from: 0 });
    expect(resumeRead(csv, done({ headerWidth: 8, badUtf8: false }))).toEqual({ from: 500, range: 'bytes=500-' });
    expect(resumeRead(csv, done({ headerWidth: 8, badUtf8: false, encoding: 'utf-16le' }))).toEqual({ from: 500 });
    expect(resumeRead({ format: 'jsonl', gzip: true }, done({}))).toEqual({ from: 500 });
  });
});
