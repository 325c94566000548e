import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readCsvBatches } from '../../activities/files/csv';
import { readPurchaseRecords, type SourceRecord } from '../../activities/files/reader';
import { validatePurchaseJson } from '../../activities/files/validation';
import { purchaseFileKind } from '../../contract/layout';

const HEADER = 'CustomerID,OrderID,OrderDate,ProductID,ProductName,Quantity,Price,Total';
const line = (i: number) => `U${i},H${i},2024-01-01,P${i},Widget ${i},1,2.50,2.50`;

async function collect(gen: AsyncIterable<SourceRecord | SourceRecord[]>): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for await (const r of gen) {
    if (Array.isArray(r)) out.push(...r);
    else out.push(r);
  }
  return out;
}
const chunked = (buf: Buffer, size: number) => {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
};
const csv = (text: string | Buffer, gzip = false, size = 1 << 16) => collect(readPurchaseRecords(chunked(Buffer.from(text), size), { format: 'csv', gzip }));
const kinds = (recs: SourceRecord[]) => recs.map((r) => ('broken' in r ? 'broken' : 'record'));

describe('purchase file names (any name, optionally gzip)', () => {
  it('takes any name with a known extension, and gzip', () => {
    expect(purchaseFileKind('customer_purchases.csv')).toEqual({ format: 'csv', gzip: false });
    expect(purchaseFileKind('Export 2024 (final).CSV')).toEqual({ format: 'csv', gzip: false });
    expect(purchaseFileKind('drop/purchases/tx.jsonl.gz')).toEqual({ format: 'jsonl', gzip: true });
    expect(purchaseFileKind('x.ndjson')).toEqual({ format: 'jsonl', gzip: false });
    expect(purchaseFileKind('customer_purchases.csv.gz')).toEqual({ format: 'csv', gzip: true });
    for (const bad of ['notes.txt', 'export.xlsx', 'x.gz', '.DS_Store', '._customer_purchases.csv', 'csv']) expect(purchaseFileKind(bad)).toBeNull();
  });
});

describe('hostile purchase files', () => {
  it('an unclosed quote in the middle of a large file costs one line, not the rest of the file', async () => {
    const rows = Array.from({ length: 30_000 }, (_, i) => line(i));
    rows[10] = 'U10,H10,2024-01-01,P10,"never closed,1,2.50,2.50';
    const recs = await csv(`${HEADER}\n${rows.join('\n')}\n`);
    expect(recs).toHaveLength(30_001);
    const broken = recs.filter((r) => 'broken' in r);
    expect(broken.map((r) => [r.line, r.raw])).toEqual([[12, rows[10]]]);
    expect('broken' in broken[0]! && broken[0].broken).toMatch(/longer than 1048576 bytes/);
    expect(recs.map((r) => r.line)).toEqual(Array.from({ length: 30_001 }, (_, i) => i + 1));
  });

  it('an unclosed quote near the end costs one line too', async () => {
    const recs = await csv(`${HEADER}\n${line(1)}\n"oops,${line(2)}\n${line(3)}\n${line(4)}`, false, 5);
    expect(kinds(recs)).toEqual(['record', 'record', 'broken', 'record', 'record']);
    expect(recs.map((r) => r.line)).toEqual([1, 2, 3, 4, 5]);
    expect(recs[3]!.raw).toBe(line(3));
  });

  it('an unclosed quote that a later quoted field would close costs one line, not the lines between', async () => {
    const text = `${HEADER}\nU1,H1,2024-01-01,P1,"Mug blue,1,2.00,2.00\n${line(3)}\n${line(4)}\nU5,H5,2024-01-01,P5,"Cup",1,5.00,5.00\nU6,H6,2024-01-01,P6,"Lamp, tall",1,5.00,5.00\n`;
    for (const size of [7, 1 << 16]) {
      const recs = await csv(text, false, size);
      expect(recs.map((r) => [r.line, 'broken' in r ? 'broken' : (r as { cells: string[] }).cells[4]])).toEqual([
        [1, 'ProductName'], [2, 'broken'], [3, 'Widget 3'], [4, 'Widget 4'], [5, 'Cup'], [6, 'Lamp, tall'],
      ]);
    }
    // A quoted line break that joins no whole record is still one record.
    const ok = await csv(`${HEADER}\nU1,H1,2024-01-01,P1,"Two\nlines",1,1.00,1.00\n${line(2)}\n`);
    expect(ok.map((r) => [r.line, 'cells' in r && r.cells[4]])).toEqual([[1, 'ProductName'], [2, 'Two\nlines'], [4, 'Widget 2']]);
  });

  it('CR-only line ends: an unclosed quote costs one line there too, near the end and past the cap', async () => {
    const near = await csv(`${HEADER}\r${line(1)}\r"oops,${line(2)}\r${line(3)}\r`);
    expect(kinds(near)).toEqual(['record', 'record', 'broken', 'record']);
    const far = await collect(readCsvBatches(chunked(Buffer.from(`${HEADER}\r"${'x'.repeat(5000)}\r${line(1)}\r${line(2)}\r`), 100), 1000));
    expect(far.map((r) => [r.line, 'broken' in r])).toEqual([[1, false], [2, true], [3, false], [4, false]]);
  });

  it('a single line longer than the cap is quarantined and reading goes on after it', async () => {
    const recs = await collect(readCsvBatches(chunked(Buffer.from(`${HEADER}\n"${'x'.repeat(5000)}\n${line(1)}\n`), 100), 1000));
    expect(kinds(recs)).toEqual(['record', 'broken', 'record']);
    expect(recs[1]!.raw.length).toBeLessThanOrEqual(1000);
    expect(recs[2]).toMatchObject({ line: 3, raw: line(1) });
  });

  it('mixed line endings are lines', async () => {
    const recs = await csv(`${HEADER}\r\n${line(1)}\n${line(2)}\r\n${line(3)}\r${line(4)}\n`);
    expect(recs.map((r) => ['cells' in r && r.cells.length, r.line])).toEqual([[8, 1], [8, 2], [8, 3], [8, 4], [8, 5]]);
  });

  it('reads .csv.gz, gives what a truncated archive holds, and quarantines the unreadable rest of a corrupt one', async () => {
    const text = `${HEADER}\n${Array.from({ length: 2000 }, (_, i) => line(i)).join('\n')}\n`;
    const gz = gzipSync(text);
    expect((await csv(gz, true, 777)).map((r) => r.raw)).toEqual(text.trimEnd().split('\n'));
    const truncated = await csv(gz.subarray(0, Math.floor(gz.length / 2)), true);
    expect(truncated.length).toBeGreaterThan(10);
    expect(truncated.length).toBeLessThan(2001);
    const corrupt = Buffer.from(gz);
    corrupt.fill(0x55, 2000, 2100);
    const recs = await csv(corrupt, true);
    const last = recs[recs.length - 1]!;
    expect('broken' in last && last.broken).toMatch(/unreadable gzip data/);
  });

  it('JSON lines: invalid UTF-8, an overlong line and a 10,000-deep value are quarantined; the next lines are read', async () => {
    const good = JSON.stringify({ CustomerID: 'U1', OrderID: 'H1', OrderDate: '2024-01-01', ProductID: 'P1', Quantity: 1, Price: '1' });
    const deep = `{"CustomerID":"U1","OrderID":"H2","OrderDate":"2024-01-01","ProductID":"P1","Quantity":1,"Price":"1","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    const body = Buffer.concat([Buffer.from(`${good}\n{"ProductName":"`), Buffer.from([0xc3, 0x28]), Buffer.from(`"}\n"${'y'.repeat(2 << 20)}"\n${deep}\n${good}\n`)]);
    const recs = await collect(readPurchaseRecords(chunked(body, 4096), { format: 'jsonl', gzip: false }));
    expect(recs.map((r) => [r.line, 'broken' in r ? r.broken.slice(0, 20) : 'value'])).toEqual([
      [1, 'value'], [2, 'not valid UTF-8 (the'], [3, 'line 3 is longer tha'], [4, 'value'], [5, 'value'],
    ]);
    const deepRec = recs[3] as { value: unknown };
    expect(validatePurchaseJson(deepRec.value)).toEqual({ ok: false, reason: 'nested more than 32 levels deep' });
  });

  it('a CSV line with bytes that are not UTF-8 is quarantined; a real U+FFFD in a valid file is text', async () => {
    const body = Buffer.concat([Buffer.from(`${HEADER}\nU1,H1,2024-01-01,P1,caf`), Buffer.from([0xe9]), Buffer.from(`,1,1,1\n${line(2)}\n`)]);
    const recs = await csv(body, false, 3);
    expect(recs.map((r) => ('broken' in r ? r.broken : 'record'))).toEqual(['record', expect.stringMatching(/not valid UTF-8/), 'record']);
    expect(kinds(await csv(`${HEADER}\nU1,H1,2024-01-01,P1,\uFFFD,1,1,1\n`))).toEqual(['record', 'record']);
  });

  it('a file that ends inside a multi-byte character: its last line is quarantined as not UTF-8, not loaded with U+FFFD', async () => {
    const body = Buffer.concat([Buffer.from(`${HEADER}\n${line(1)}\nU1,H9,2024-01-01,P1,1,1,1,caf`), Buffer.from([0xc3])]);
    for (const size of [1, 7, 1 << 16]) {
      const recs = await csv(body, false, size);
      expect(recs.map((r) => ('broken' in r ? r.broken : 'record'))).toEqual(['record', 'record', expect.stringMatching(/not valid UTF-8/)]);
      // The same through csv-parse alone (its own end of input).
      const parsed: SourceRecord[] = [];
      for await (const b of readCsvBatches(chunked(body, size), undefined, undefined, false)) parsed.push(...b);
      expect(parsed).toEqual(recs);
    }
  });

  it('a line skipped past the size cap that ends mid-character in a chunk does not make the file bad UTF-8', async () => {
    // The overlong line is cut at the cap and the rest of it skipped; a later line holding a real U+FFFD is text.
    const body = Buffer.from(`${HEADER}\n${line(1)}\nU2,"${'é'.repeat(100)}\nU3,H3,2024-01-01,P3,\uFFFD,1,1,1\n`);
    for (let size = 3; size <= 21; size++) {
      for (const plain of [true, false]) {
        const recs: SourceRecord[] = [];
        for await (const b of readCsvBatches(chunked(body, size), 100, undefined, plain)) recs.push(...b);
        expect(recs.map((r) => ('broken' in r ? r.broken.slice(0, 30) : 'record')), `chunks of ${size}`).toEqual(['record', 'record', expect.stringMatching(/^unreadable CSV/), 'record']);
      }
    }
  });

  it('splits multi-byte characters across chunks without damage', async () => {
    const text = `${HEADER}\nU1,H1,2024-01-01,P1,ë€😀 name,1,1,1\n`;
    for (const size of [1, 2, 3, 5]) expect((await csv(text, false, size))[1]).toMatchObject({ cells: expect.arrayContaining(['ë€😀 name']) });
    const j = await collect(readPurchaseRecords(chunked(Buffer.from('{"ProductName":"ë€😀"}\n'), 1), { format: 'jsonl', gzip: false }));
    expect(j[0]).toMatchObject({ value: { ProductName: 'ë€😀' } });
  });
});
