/**
 * Resuming a purchase file after a committed piece (issue 12 P6): for every batch boundary of a
 * read, a reader started at the boundary's `next` position, with the state as it stood there, must
 * give exactly the records the whole read gave after it: same lines, same text, same verdicts.
 * A plain file resumes from its bytes at that offset (a ranged GET), a gzip or UTF-16 file from its
 * whole bytes (decompressed or transcoded, and skipped up to the offset).
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readPurchaseBatches, readsWhole, type ReaderState, type SourceRecord } from '../../activities/files/reader';
import type { PurchaseFileKind } from '../../contract/layout';

const HEADER = 'CustomerID,OrderID,OrderDate,ProductID,ProductName,Quantity,Price,Total';
const line = (i: number) => `U${i},H${i},2024-01-01,P${i},Widget ${i},1,2.50,2.50`;

const chunked = (buf: Buffer, size: number) => {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
};

/** What a record says, without where it ends. */
const shown = (r: SourceRecord) => ({ line: r.line, raw: r.raw, ...('cells' in r ? { cells: r.cells } : 'value' in r ? { value: r.value } : { broken: r.broken }) });

interface Boundary { at: number; state: ReaderState }

/** All records, and after each batch whose last record says where it ends, that position and the state then. */
async function readAll(bytes: Buffer, kind: PurchaseFileKind, chunk: number): Promise<{ records: SourceRecord[]; boundaries: Boundary[] }> {
  const records: SourceRecord[] = [];
  const boundaries: Boundary[] = [];
  const state: ReaderState = { byte: 0, line: 0 };
  for await (const batch of readPurchaseBatches(chunked(bytes, chunk), kind, state)) {
    records.push(...batch);
    const next = batch[batch.length - 1]?.next;
    if (next) boundaries.push({ at: records.length, state: { ...state, ...next } });
  }
  return { records, boundaries };
}

async function resumed(file: Buffer, kind: PurchaseFileKind, b: Boundary, chunk: number): Promise<SourceRecord[]> {
  const body = readsWhole(kind, b.state) ? file : file.subarray(b.state.byte);
  const out: SourceRecord[] = [];
  for await (const batch of readPurchaseBatches(chunked(body, chunk), kind, { ...b.state })) out.push(...batch);
  return out;
}

async function checkEveryBoundary(text: string | Buffer, kind: PurchaseFileKind, chunks: number[]): Promise<number> {
  const plain = Buffer.from(text);
  const file = kind.gzip ? gzipSync(plain) : plain;
  let checked = 0;
  for (const chunk of chunks) {
    const { records, boundaries } = await readAll(file, kind, chunk);
    expect(boundaries.length).toBeGreaterThan(1);
    for (const b of boundaries) {
      const rest = await resumed(file, kind, b, chunk === 7 ? 11 : chunk); // other chunk edges than the first read's
      expect(rest.map(shown), `resumed at byte ${b.state.byte} (line ${b.state.line}), chunks of ${chunk}`).toEqual(records.slice(b.at).map(shown));
      checked++;
    }
  }
  return checked;
}

const csvKind = { format: 'csv', gzip: false } as const;

describe('a purchase file resumed after a committed piece', () => {
  it('a clean CSV with a BOM and CRLF line ends', async () => {
    const text = `\uFEFF${HEADER}\r\n${Array.from({ length: 200 }, (_, i) => line(i)).join('\r\n')}\r\n`;
    expect(await checkEveryBoundary(text, csvKind, [7, 64, 4096])).toBeGreaterThan(50);
  });

  it('a hostile CSV: quoted line breaks, blank lines, CR-only ends, quotes never closed or closed lines later, bad UTF-8, wrong cell counts', async () => {
    const bad = Buffer.from([0xff, 0xfe]);
    const parts: Array<string | Buffer> = [`${HEADER}\n`];
    for (let i = 0; i < 120; i++) {
      if (i === 10) parts.push('U10,H10,2024-01-01,P10,"Mug\nblue",1,2.00,2.00\n');
      else if (i === 20) parts.push('\n\n\r\n');
      else if (i === 30) parts.push(`${line(30)}\r`);
      else if (i === 40) parts.push('U40,H40,2024-01-01,P40,"never closed,1,2.50,2.50\n');
      else if (i === 50) parts.push(Buffer.concat([Buffer.from('U50,H50,2024-01-01,P50,Bad '), bad, Buffer.from(',1,2.50,2.50\n')]));
      else if (i === 60) parts.push('U60,H60,2024-01-01\n');
      else if (i === 80) parts.push('U80,H80,2024-01-01,P80,"Mug blue,1,2.00,2.00\n'); // closed by line 85's quote
      else if (i === 85) parts.push('U85,H85,2024-01-01,P85,"Cup",1,5.00,5.00\n');
      else if (i === 70) parts.push('U70,H70,2024-01-01,P70,Literal \uFFFD,1,2.50,2.50\n');
      else parts.push(`${line(i)}\n`);
    }
    const text = Buffer.concat(parts.map((p) => Buffer.from(p)));
    expect(await checkEveryBoundary(text, csvKind, [7, 97])).toBeGreaterThan(20);
  });

  it('a line past the size cap is quarantined once, whichever side of a boundary the resume starts', async () => {
    // MAX_RECORD_BYTES is 1 MiB: a line of 1.5 MiB behind an unclosed quote is cut at the cap.
    const text = `${HEADER}\n${line(1)}\nU2,H2,2024-01-01,P2,"${'x'.repeat(1_500_000)}\n${Array.from({ length: 50 }, (_, i) => line(i + 3)).join('\n')}\n`;
    const { records } = await readAll(Buffer.from(text), csvKind, 65536);
    expect(records.filter((r) => 'broken' in r).map((r) => r.line)).toEqual([3]);
    expect(await checkEveryBoundary(text, csvKind, [65536])).toBeGreaterThan(2);
  });

  it('a UTF-16LE CSV (its BOM FF FE) resumes as UTF-16, plain and gzip', async () => {
    // Excel's "Unicode" exports: read as UTF-16 from the BOM; a resume starts past the BOM and must still know.
    const text = Buffer.from(`\uFEFF${HEADER}\r\n${Array.from({ length: 150 }, (_, i) => (i === 40 ? 'U40,H40,2024-01-01,P40,"Tasse \u00e9t\u00e9\r\nbleue",1,2.00,2.00' : line(i))).join('\r\n')}\r\n`, 'utf16le');
    const { records } = await readAll(text, csvKind, 64);
    expect(records[1]).toMatchObject({ line: 2, cells: ['U0', 'H0', '2024-01-01', 'P0', 'Widget 0', '1', '2.50', '2.50'] });
    expect(records.find((r) => r.line === 42)).toMatchObject({ cells: ['U40', 'H40', '2024-01-01', 'P40', 'Tasse \u00e9t\u00e9\r\nbleue', '1', '2.00', '2.00'] });
    expect(await checkEveryBoundary(text, csvKind, [7, 64, 4096])).toBeGreaterThan(20);
    expect(await checkEveryBoundary(text, { format: 'csv', gzip: true }, [512])).toBeGreaterThan(2);
  });

  it('a gzip CSV resumes from the decompressed offset', async () => {
    const text = `${HEADER}\n${Array.from({ length: 300 }, (_, i) => line(i)).join('\n')}\n`;
    expect(await checkEveryBoundary(text, { format: 'csv', gzip: true }, [512])).toBeGreaterThan(2);
  });

  it('JSON lines, plain and gzip, with a BOM, blank lines, invalid JSON and CRLF', async () => {
    const lines = Array.from({ length: 3500 }, (_, i) => (i === 5 ? '' : i === 9 ? '{"broken": ' : JSON.stringify({ CustomerID: `U${i}`, OrderID: `H${i}`, n: i })));
    const text = `\uFEFF${lines.join('\r\n')}\n`;
    expect(await checkEveryBoundary(text, { format: 'jsonl', gzip: false }, [7, 300])).toBeGreaterThan(4);
    expect(await checkEveryBoundary(text, { format: 'jsonl', gzip: true }, [300])).toBeGreaterThan(2);
  });

  it('a gzip file shorter than the offset to resume at is an error, not a silent end', async () => {
    const file = gzipSync(Buffer.from(`${HEADER}\n${line(1)}\n`));
    const read = async () => {
      for await (const batch of readPurchaseBatches(chunked(file, 64), { format: 'csv', gzip: true }, { byte: 10_000, line: 100, headerWidth: 8 })) void batch;
    };
    await expect(read()).rejects.toThrow(/shorter than the 10000 bytes already loaded/);
  });
});
