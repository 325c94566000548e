import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readPurchaseBatches, readPurchaseRecords, type SourceRecord } from '../../activities/files/reader';
import { copyLine, copySuffix, CopyText, type CopyValue } from '../../lib/bulk';
import { validatePurchaseCells, validatePurchaseJson, planHeader, type HeaderPlan } from '../../activities/files/validation';

async function read(text: string, format: 'csv' | 'jsonl', chunk = 7): Promise<SourceRecord[]> {
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += chunk) chunks.push(text.slice(i, i + chunk));
  const out: SourceRecord[] = [];
  for await (const r of readPurchaseRecords(Readable.from(chunks), { format, gzip: false })) out.push(r);
  return out;
}

const HEADER = 'CustomerID,OrderID,OrderDate,ProductID,ProductName,Quantity,Price,Total';

describe('purchase file reader (streamed in small chunks)', () => {
  it('yields every CSV record once with the line it starts on, including quoted line breaks and empty lines', async () => {
    const text = `\uFEFF${HEADER}\n1001,5001,2024-01-01,101,"Widget, A",2,20.00,40.00\n\n1002,5002,2024-01-02,102,"Two\nlines",1,35.00,35.00\n1003,5003,2024-01-03,103,C,1,1.00\n`;
    const recs = await read(text, 'csv');
    expect(recs.map((r) => r.line)).toEqual([1, 2, 4, 6]);
    expect('cells' in recs[0]! && recs[0].cells[0]).toBe('CustomerID');
    expect('cells' in recs[1]! && recs[1].cells[4]).toBe('Widget, A');
    expect(recs[2]!.raw).toBe('1002,5002,2024-01-02,102,"Two\nlines",1,35.00,35.00');
    expect('cells' in recs[3]! && recs[3].cells).toHaveLength(7);
  });

  it('turns a CSV record the parser gives up on into a broken record instead of dropping it', async () => {
    const recs = await read(`${HEADER}\n1,2,2024-01-01,3,X,1,1.00,1.00\n4,5,2024-01-01,6,"open,1,1.00,1.00\n`, 'csv');
    expect(recs).toHaveLength(3);
    const broken = recs.find((r) => 'broken' in r);
    expect(broken && 'broken' in broken && broken.broken).toMatch(/quoted field is never closed/);
    expect(broken?.line).toBe(3);
  });

  it('keeps file order: an unreadable record right after the header does not come out before it', async () => {
    const recs = await read(`${HEADER}\n"open,1,2024-01-01,3,X,1,1.00,1.00\n`, 'csv', 1 << 16);
    expect(recs.map((r) => [r.line, 'broken' in r])).toEqual([[1, false], [2, true]]);
  });

  it('gives the same records in batches as one by one', async () => {
    const text = `${HEADER}\r\n\r\n1,2,2024-01-01,3,"a\nb",1,1,1\n4,5,2024-01-01,6,"x"y,1,1,1\n7,8\n`;
    const batched: SourceRecord[] = [];
    for await (const b of readPurchaseBatches(Readable.from([text.slice(0, 40), text.slice(40)]), { format: 'csv', gzip: false })) batched.push(...b);
    expect(batched).toEqual(await read(text, 'csv'));
  });

  it('reads JSON lines, marking lines that are not JSON', async () => {
    const recs = await read('{"OrderID":"1"}\n\n{"OrderID":\n[1]\n', 'jsonl');
    expect(recs.map((r) => [r.line, 'broken' in r ? 'broken' : 'value'])).toEqual([[1, 'value'], [3, 'broken'], [4, 'value']]);
  });
});

describe('purchase schema policy', () => {
  const plan = (h: string): HeaderPlan => {
    const v = planHeader(h.split(','));
    if (!v.ok) throw new Error(v.reason);
    return v.plan;
  };

  it('maps the Qty alias and keeps unknown columns as extra (evolve)', () => {
    const p = plan('CustomerID,OrderID,OrderDate,ProductID,ProductName,Qty,Price,Total,Currency');
    expect(p.renamed).toEqual({ Qty: 'Quantity' });
    expect(p.extra).toEqual(['Currency']);
    const j = validatePurchaseCells(p, ['1001', '5001', '2024/01/05', '101', ' Widget  A ', '2', '20.00', '41.00', 'USD']);
    expect(j.ok && j.value).toMatchObject({ quantity: 2, price: '20.00', total: '41.00', totalMismatch: true, productName: 'Widget A' });
    expect(j.ok && j.extra).toEqual({ Currency: 'USD' });
  });

  it('rejects headers it cannot map: a missing column, two columns for one field, an empty name', () => {
    expect(planHeader('CustomerID,OrderID,OrderDate,ProductID,ProductName,Price,Total'.split(','))).toMatchObject({ ok: false, reason: expect.stringMatching(/Quantity/) });
    expect(planHeader(`${HEADER},Qty`.split(','))).toMatchObject({ ok: false, reason: expect.stringMatching(/more than one column for Quantity/) });
    expect(planHeader(`${HEADER},`.split(','))).toMatchObject({ ok: false, reason: expect.stringMatching(/no name/) });
  });

  it('gives a reason for each kind of bad row', () => {
    const p = plan(HEADER);
    const reason = (cells: string[]) => {
      const j = validatePurchaseCells(p, cells);
      return j.ok ? 'ok' : j.reason;
    };
    expect(reason(['1', '2', '2024-01-01', '3', 'X', '1', '1.00'])).toBe('expected 8 columns, got 7');
    expect(reason(['1', '2', '2024-01-01', '3', 'X', 'two', '1.00', '2.00'])).toMatch(/Quantity "two" is not a positive integer/);
    expect(reason(['1', '2', '01/31/2024', '3', 'X', '1', '1.00', '1.00'])).toMatch(/OrderDate/);
    expect(reason(['', '2', '2024-01-01', '3', 'X', '1', '1.00', '1.00'])).toBe('CustomerID is missing');
    expect(reason(['1', '2', '2024-01-01', '3', 'X', '3000000000', '1.00', ''])).toMatch(/larger than/);
    expect(reason(['1', '2', '2024-01-01T23:30:00-02:00', '3', '', '1', '0', ''])).toBe('ok');
  });

  it('judges JSON objects the same way, aliases and extras included', () => {
    const j = validatePurchaseJson({ CustomerID: 1001, OrderID: '5001', OrderDate: '2024-01-01', ProductID: '101', ProductName: null, Qty: 3, Price: '2.50', Total: '7.50', Currency: 'EUR' });
    expect(j.ok && j.value).toMatchObject({ quantity: 3, amount: '7.50', totalMismatch: false, customerId: '1001', productName: null });
    expect(j.ok && j.extra).toEqual({ Currency: 'EUR' });
    expect(validatePurchaseJson([1, 2])).toEqual({ ok: false, reason: 'not a JSON object' });
    expect(validatePurchaseJson({ CustomerID: '1', OrderID: '2', OrderDate: '2024-01-01', ProductID: '3', Quantity: 1, Price: '1', Total: null, Note: 'a\u0000b' })).toMatchObject({ ok: false, reason: expect.stringMatching(/NUL/) });
  });
});

describe('COPY text', () => {
  it('encodes rows into CopyText exactly as copyLine does, escapes and multi-byte text included', () => {
    const rows: CopyValue[][] = [['a\tb', 1, null, { Currency: 'USD' }, 'Café\\x'], ['line\nbreak\r', true, undefined, '€'.repeat(30_000), 2n]];
    const text = new CopyText();
    for (const r of rows) text.add(r);
    expect(text.take().toString('utf8')).toBe(rows.map(copyLine).join(''));
    expect(text.rows).toBe(2); // still the batch's count after take(): the merge's duplicates are reckoned from it
    expect(copyLine(rows[0]!)).toBe('a\\tb\t1\t\\N\t{"Currency":"USD"}\tCafé\\\\x\n');
  });

  it('ends every line with the suffix, encoded once as its values would be', () => {
    const suffix = copySuffix(['drops/a\tb.csv', 'files:x', null]);
    expect(suffix).toBe('\tdrops/a\\tb.csv\tfiles:x\t\\N');
    const text = new CopyText(suffix);
    text.add(['O1', 2]);
    text.add(['O2', 'é']);
    expect(text.take().toString('utf8')).toBe(copyLine(['O1', 2, 'drops/a\tb.csv', 'files:x', null]) + copyLine(['O2', 'é', 'drops/a\tb.csv', 'files:x', null]));
  });
});
