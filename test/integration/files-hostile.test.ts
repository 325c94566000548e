import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFilesActivities, purchaseRawKey, type PurchaseFileRef } from '../../activities/files';
import { deletePrefix, getObjectBytes, listObjects, putObject } from '../../lib/s3';
import { testEnv, type TestEnv } from '../support/env';

const HEADER = 'CustomerID,OrderID,OrderDate,ProductID,ProductName,Quantity,Price,Total';

/**
 * Files as real shops drop them: any name, gzip, a stray non-export file, an unclosed quote, a
 * deeply nested JSON line, and a corrected re-export under the same key. Counts are read back from
 * staging and etl.quarantine per load, not taken from the load's own record.
 */
describe('files pipeline on hostile drops (real PostgreSQL, S3)', () => {
  let env: TestEnv;
  const tag = `h${randomUUID().slice(0, 8)}`;
  const prefix = `test/files-hostile/${tag}/drop/purchases/`;
  const id = (n: number) => `${tag}-O${n}`;
  const row = (n: number, qty = 1, date = '2024-03-01') => `U${n},${id(n)},${date},P${n},Widget ${n},${qty},2.50,${(2.5 * qty).toFixed(2)}`;

  const files = async (): Promise<PurchaseFileRef[]> => {
    const acts = createFilesActivities(env.deps);
    return (await acts.listNewPurchaseFiles({ dropPrefix: prefix })).files;
  };
  const ingestAll = async () => {
    const acts = createFilesActivities(env.deps);
    const out = [];
    for (const file of await files()) {
      out.push(await acts.ingestPurchaseFile({ file }));
    }
    return out;
  };
  const staged = async (loadId: string) =>
    Number((await env.deps.staging.query<{ n: string }>('select count(*) n from staging.purchases where load_id = $1', [loadId])).rows[0]?.n);
  const quarantined = async (loadId: string) =>
    (await env.deps.staging.query<{ record_ref: string; reason: string }>('select record_ref, reason from etl.quarantine where load_id = $1 order by id', [loadId])).rows;

  beforeAll(async () => {
    env = await testEnv('files-hostile');
    const put = (name: string, body: string | Buffer) => putObject(env.deps.s3, env.deps.bucket, prefix + name, body, 'application/octet-stream');
    const big = Array.from({ length: 20_000 }, (_, i) => row(1000 + i));
    big[5] = `U9,${id(9)},2024-03-01,P9,"never closed,1,2.50,2.50`;
    await put('customer_purchases.csv', `${HEADER}\n${row(1)}\n${row(2)}\n${row(3)}\n`);
    await put('older export.jsonl.gz', gzipSync(`${JSON.stringify({ CustomerID: 'U4', OrderID: id(4), OrderDate: '2024-02-01T23:30:00-02:00', ProductID: 'P4', Quantity: 2, Price: '1.25', Note: { deep: [1] } })}\n{"CustomerID":"U5","OrderID":"${id(5)}","OrderDate":"2024-02-01","ProductID":"P5","Quantity":1,"Price":"1","x":${'['.repeat(10_000)}${']'.repeat(10_000)}}\n`));
    await put('bad-quote.csv', `${HEADER}\n${big.join('\n')}\n`);
    await put('notes.txt', 'not an export');
  });
  afterAll(async () => {
    if (env) {
      await deletePrefix(env.deps.s3, env.deps.bucket, `test/files-hostile/${tag}/`);
    }
    await env?.close();
  });

  it('loads any file name and gzip, quarantines the bad lines alone, and records the file it does not take', async () => {
    const results = await ingestAll();
    expect(results.map((r) => r.key.slice(prefix.length)).sort()).toEqual(['bad-quote.csv', 'customer_purchases.csv', 'older export.jsonl.gz']);
    const byName = (n: string) => results.find((r) => r.key === prefix + n)?.load ?? expect.fail(n);

    const plain = byName('customer_purchases.csv');
    expect(await staged(plain.loadId)).toBe(3);

    const gz = byName('older export.jsonl.gz');
    expect(await staged(gz.loadId)).toBe(1);
    expect(await quarantined(gz.loadId)).toEqual([{ record_ref: `${prefix}older export.jsonl.gz:2`, reason: 'nested more than 32 levels deep' }]);
    const { rows: [p4] } = await env.deps.staging.query('select order_date::text d, extra from staging.purchases where order_id = $1', [id(4)]);
    expect(p4).toEqual({ d: '2024-02-02', extra: { Note: { deep: [1] } } }); // the date is the UTC date of the content, not the file's name

    const quote = byName('bad-quote.csv');
    expect(await staged(quote.loadId)).toBe(19_999);
    expect(await quarantined(quote.loadId)).toEqual([{ record_ref: `${prefix}bad-quote.csv:7`, reason: expect.stringMatching(/never closed/) }]);
    expect(quote).toMatchObject({ received: 20_000, loaded: 19_999, quarantined: 1, duplicates: 0 });

    const { rows: ignored } = await env.deps.staging.query<{ status: string; detail: { reason: string } }>(
      `select status, detail from etl.loads where load_id like $1`, [`files/${prefix}notes.txt@%`]);
    expect(ignored).toEqual([{ status: 'ignored', detail: expect.objectContaining({ reason: expect.stringMatching(/notes\.txt .*must end in \.csv/) }) }]);
    const { rows: alerts } = await env.deps.staging.query('select kind, pipeline from etl.alerts where alert_id like $1', [`ignored/files/${prefix}notes.txt@%`]);
    expect(alerts).toEqual([{ kind: 'bad_input', pipeline: 'files' }]);
    expect(await files()).toEqual([]); // a second listing records nothing new and finds nothing to load
    expect((await env.deps.staging.query('select 1 from etl.loads where load_id like $1', [`files/${prefix}notes.txt@%`])).rowCount).toBe(1);
  });

  it('a corrected re-export under the same name replaces its lines: counted as updated, the rest as duplicates', async () => {
    // Row 2's quantity is corrected, row 3 is dropped from the export (it stays), row 6 is new.
    await putObject(env.deps.s3, env.deps.bucket, `${prefix}customer_purchases.csv`, `${HEADER}\n${row(1)}\n${row(2, 5)}\n${row(6)}\n`, 'text/csv');
    const [again] = await ingestAll();
    expect(again?.load).toMatchObject({ received: 3, loaded: 2, quarantined: 0, duplicates: 1 });
    const { rows: [load] } = await env.deps.staging.query<{ detail: { updated: number } }>('select detail from etl.loads where load_id = $1', [again?.load?.loadId]);
    expect(load?.detail.updated).toBe(1);
    const { rows } = await env.deps.staging.query<{ order_id: string; quantity: number; load_id: string }>(
      'select order_id, quantity, load_id from staging.purchases where order_id = any($1) order by order_id', [[1, 2, 3, 6].map(id)]);
    expect(rows.map((r) => [r.order_id, r.quantity, r.load_id === again?.load?.loadId])).toEqual([[id(1), 1, false], [id(2), 5, true], [id(3), 1, false], [id(6), 1, true]]);
    // The older version dropped again (an older file) does not undo the correction.
    const acts = createFilesActivities(env.deps);
    const old = await acts.ingestPurchaseFile({ file: { ...(await staleRef()), lastModified: '2000-01-01T00:00:00.000Z' } });
    expect(old.load).toMatchObject({ loaded: 0, duplicates: 3 });
    const { rows: [two] } = await env.deps.staging.query<{ quantity: number }>('select quantity from staging.purchases where order_id = $1', [id(2)]);
    expect(two?.quantity).toBe(5);
  });

  /** A different object with the first version's content, listed as if it were older. */
  async function staleRef(): Promise<PurchaseFileRef> {
    const key = `${prefix}customer_purchases (copy).csv`;
    await putObject(env.deps.s3, env.deps.bucket, key, `${HEADER}\n${row(1)}\n${row(2)}\n${row(3)}\n`, 'text/csv');
    const o = (await listObjects(env.deps.s3, env.deps.bucket, key))[0] ?? expect.fail('copy listed');
    return { key, etag: o.etag, size: o.size, lastModified: '' };
  }

  it('loads a UTF-16 export (Excel "Unicode") in pieces as its text: rows, line references, the exact raw copy, and the encoding each piece resumes by', async () => {
    const dir = `test/files-hostile/${tag}/utf16/`;
    // 6,000 lines (about 550 KB): pieces are cut at batch ends, one per chunk read, so several chunks are needed.
    const lines = Array.from({ length: 6000 }, (_, i) => (i === 700 ? `U7,${id(70_700)},not a date,P7,Tasse été,1,2.50,2.50` : i === 900 ? `U9,${id(70_900)},2024-03-01,P9,"Zwei\r\nZeilen ☕",1,2.50,2.50` : row(70_000 + i)));
    const bytes = Buffer.from(`\uFEFF${HEADER}\r\n${lines.join('\r\n')}\r\n`, 'utf16le');
    await putObject(env.deps.s3, env.deps.bucket, `${dir}export.csv`, bytes, 'text/csv');
    const acts = createFilesActivities(env.deps);
    const [file] = (await acts.listNewPurchaseFiles({ dropPrefix: dir })).files;
    if (!file) throw new Error('not listed');
    const { load } = await acts.ingestPurchaseFile({ file, pieceLines: 250 });
    expect(load).toMatchObject({ received: 6000, loaded: 5999, quarantined: 1, duplicates: 0 });
    expect(await quarantined(load?.loadId ?? '')).toEqual([{ record_ref: `${dir}export.csv:702`, reason: expect.stringMatching(/OrderDate/) }]);
    const { rows } = await env.deps.staging.query<{ order_id: string; product_name: string; source_line: number }>(
      'select order_id, product_name, source_line from staging.purchases where order_id = any($1) order by source_line', [[id(70_000), id(70_900), id(75_999)]]);
    expect(rows).toEqual([
      { order_id: id(70_000), product_name: 'Widget 70000', source_line: 2 },
      { order_id: id(70_900), product_name: 'Zwei Zeilen ☕', source_line: 902 }, // names are kept on one line
      { order_id: id(75_999), product_name: 'Widget 75999', source_line: 6002 }, // after the two-line record
    ]);
    expect(Buffer.from(await getObjectBytes(env.deps.s3, env.deps.bucket, purchaseRawKey(file))).equals(bytes)).toBe(true);
    const { rows: pieces } = await env.deps.staging.query<{ encoding: string | null }>('select state->>\'encoding\' encoding from etl.load_pieces where load_id = $1 order by piece', [load?.loadId]);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.every((p) => p.encoding === 'utf-16le')).toBe(true);
  });

  it('loads in pieces what it quarantines whole (a header with a NUL), and a gzip JSON-lines file in pieces, counting every line once', async () => {
    const dir = `test/files-hostile/${tag}/pieces/`;
    const lines = Array.from({ length: 3000 }, (_, i) => row(50_000 + i));
    await putObject(env.deps.s3, env.deps.bucket, `${dir}nul-header.csv`, `Customer\u0000ID,OrderID,OrderDate,ProductID,ProductName,Quantity,Price,Total\n${lines.join('\n')}\n`, 'text/csv');
    const json = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ CustomerID: `U${i}`, OrderID: id(60_000 + i), OrderDate: '2024-03-02', ProductID: `P${i % 7}`, Quantity: 1, Price: i === 17 ? 'free' : '1.50' }));
    await putObject(env.deps.s3, env.deps.bucket, `${dir}lines.jsonl.gz`, gzipSync(`${json.join('\n')}\n`), 'application/gzip');
    const acts = createFilesActivities(env.deps);
    const listed = (await acts.listNewPurchaseFiles({ dropPrefix: dir })).files;
    const out = Object.fromEntries(await Promise.all(listed.map(async (file) => [file.key.slice(dir.length), await acts.ingestPurchaseFile({ file, pieceLines: 500 })] as const)));
    const whole = out['nul-header.csv']?.load;
    expect(whole).toMatchObject({ received: 3000, quarantined: 3000, loaded: 0, duplicates: 0 });
    const gz = out['lines.jsonl.gz']?.load;
    expect(gz).toMatchObject({ received: 3000, quarantined: 1, loaded: 2999, duplicates: 0 });
    for (const l of [whole, gz]) {
      const { rows: [d] } = await env.deps.staging.query<{ detail: { pieces?: number; quarantinedWhole?: string | null } }>('select detail from etl.loads where load_id = $1', [l?.loadId]);
      expect(d?.detail.pieces).toBeGreaterThan(1);
      const { rows: [p] } = await env.deps.staging.query<{ n: string }>('select count(*) n from etl.load_pieces where load_id = $1', [l?.loadId]);
      expect(Number(p?.n)).toBeGreaterThanOrEqual((d?.detail.pieces ?? 0) - 1);
    }
    expect(await staged(gz?.loadId ?? '')).toBe(2999);
    // The whole file's lines are in the lake's piece objects, once each; its one table row names the header.
    expect((await quarantined(whole?.loadId ?? '')).length).toBe(1);
  });
});
