import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFilesActivities } from '../../activities/files';
import { mergePurchases, purchaseRows } from '../../activities/files/merge';
import { deletePrefix, putObject } from '../../lib/s3';
import { testEnv, type TestEnv } from '../support/env';

const HEADER = 'CustomerID,OrderID,OrderDate,ProductID,ProductName,Quantity,Price,Total';

/**
 * The purchases' direct COPY (activities/files/merge.ts): a batch of keys never stored goes straight
 * into staging.purchases, and one that meets a stored key falls back to the upsert with nothing of
 * the failed COPY left, in the same transaction. The counts must be the upsert's in every case
 * (ingest-files and files-hostile hold the corrections policy itself).
 */
describe('purchase lines copied directly into staging (real PostgreSQL, S3)', () => {
  let env: TestEnv;
  const tag = `d${randomUUID().slice(0, 8)}`;
  const prefix = `test/purchases-direct/${tag}/drop/purchases/`;
  const id = (n: number) => `${tag}-O${n}`;
  const line = (n: number, product = `P${n}`, qty = 1) => `U${n},${id(n)},2024-03-01,${product},Widget,${qty},2.50,${(2.5 * qty).toFixed(2)}`;
  const row = (n: number, sourceLine: number) => [id(n), `P${n}`, `U${n}`, '2024-03-01', 'Widget', 1, '2.50', '2.50', false, null, sourceLine];

  const ingest = async (name: string, body: string, opts: { batchSize: number; pieceLines: number }) => {
    await putObject(env.deps.s3, env.deps.bucket, prefix + name, body, 'text/csv');
    const acts = createFilesActivities(env.deps);
    const file = (await acts.listNewPurchaseFiles({ dropPrefix: prefix })).files.find((f) => f.key === prefix + name) ?? expect.fail(`${name} not listed`);
    const out = await acts.ingestPurchaseFile({ file, ...opts });
    const loadId = out.load?.loadId ?? expect.fail(`${name} was not loaded`);
    const { rows: [r] } = await env.deps.staging.query<{ received: number; loaded: number; duplicates: number; detail: { copiedDirectly: number } }>(
      'select received, loaded, duplicates, detail from etl.loads where load_id = $1', [loadId]);
    return { loadId, received: r?.received, loaded: r?.loaded, duplicates: r?.duplicates, copiedDirectly: r?.detail.copiedDirectly };
  };
  const staged = async (loadId: string) =>
    Number((await env.deps.staging.query<{ n: string }>('select count(*) n from staging.purchases where load_id = $1', [loadId])).rows[0]?.n);

  beforeAll(async () => {
    env = await testEnv('purchases-direct');
  });
  afterAll(async () => {
    if (env) await deletePrefix(env.deps.s3, env.deps.bucket, `test/purchases-direct/${tag}/`);
    await env?.close();
  });

  it('copies a batch of new keys directly, and merges one that meets a stored key as if the COPY had not run', async () => {
    const client = await env.deps.staging.connect();
    const file = { sourceFile: `${prefix}a.csv`, loadId: `files:${tag}-a`, fileModifiedAt: '2024-03-02T00:00:00.000Z' };
    try {
      await client.query('begin');
      const first = purchaseRows(file);
      for (const n of [1, 2, 3]) first.add(row(n, n + 1));
      expect(await mergePurchases(client, first, { direct: true })).toEqual({ inserted: 3, updated: 0, direct: true });

      // Keys 4 and 5 are new, key 2 is this transaction's own: the COPY fails on it and is undone,
      // and the upsert inserts 4 and 5 and leaves 2 (same load: a duplicate).
      const second = purchaseRows(file);
      for (const n of [4, 2, 5]) second.add(row(n, n + 10));
      expect(await mergePurchases(client, second, { direct: true })).toEqual({ inserted: 2, updated: 0, direct: false });

      const { rows } = await client.query<{ order_id: string; source_line: number; source_file: string; load_id: string; file_modified_at: Date; ingested_at: Date | null }>(
        'select order_id, source_line, source_file, load_id, file_modified_at, ingested_at from staging.purchases where load_id = $1 order by order_id', [file.loadId]);
      expect(rows.map((r) => [r.order_id, r.source_line])).toEqual([[id(1), 2], [id(2), 3], [id(3), 4], [id(4), 14], [id(5), 15]]);
      for (const r of rows) {
        expect([r.source_file, r.load_id, r.file_modified_at.toISOString()]).toEqual([file.sourceFile, file.loadId, file.fileModifiedAt]);
        expect(r.ingested_at).not.toBeNull();
      }
      // The transaction is still good after the failed COPY.
      await client.query('commit');
    } finally {
      client.release();
    }
  });

  it('loads a new file wholly by direct COPY, and a file meeting stored keys with the upsert\'s counts', async () => {
    const opts = { batchSize: 10, pieceLines: 480 }; // direct batches of max(10, 480 / 48) = 10 lines
    const fresh = await ingest('new.csv', `${HEADER}\n${Array.from({ length: 95 }, (_, i) => line(100 + i)).join('\n')}\n`, opts);
    expect([fresh.received, fresh.loaded, fresh.duplicates, fresh.copiedDirectly]).toEqual([95, 95, 0, 95]);
    expect(await staged(fresh.loadId)).toBe(95);

    // Lines 1-10 are new (copied); line 12 repeats line 1's key in the next batch: that batch's COPY
    // fails, it is merged (one duplicate), and the rest of the file is merged too.
    const lines = Array.from({ length: 30 }, (_, i) => line(300 + i));
    lines[11] = line(300);
    const repeat = await ingest('repeat.csv', `${HEADER}\n${lines.join('\n')}\n`, opts);
    expect([repeat.received, repeat.loaded, repeat.duplicates, repeat.copiedDirectly]).toEqual([30, 29, 1, 10]);
    expect(await staged(repeat.loadId)).toBe(29);

    // A key twice in one batch never tries the COPY; the batches after it still do.
    const twice = Array.from({ length: 30 }, (_, i) => line(400 + i));
    twice[3] = line(400);
    const inBatch = await ingest('in-batch.csv', `${HEADER}\n${twice.join('\n')}\n`, opts);
    expect([inBatch.received, inBatch.loaded, inBatch.duplicates, inBatch.copiedDirectly]).toEqual([30, 29, 1, 20]);

    // The same lines under another name: every key is stored, nothing changes, all duplicates.
    const again = await ingest('new-again.csv', `${HEADER}\n${Array.from({ length: 95 }, (_, i) => line(100 + i)).join('\n')}\n`, opts);
    expect([again.received, again.loaded, again.duplicates, again.copiedDirectly]).toEqual([95, 0, 95, 0]);
    expect(await staged(again.loadId)).toBe(0);
  });

  it('keeps each piece\'s transaction to at most 48 direct COPYs, merging the batches past them', async () => {
    // Direct batches of 10 lines, 48 of them (480 lines) per piece's transaction. A piece runs past
    // its 480 lines to the end of the reader's chunk (64 KiB, about 1,100 of these lines), so each
    // full piece merges its lines past 480; the next piece starts with 48 again.
    const out = await ingest('many.csv', `${HEADER}\n${Array.from({ length: 3000 }, (_, i) => line(10_000 + i)).join('\n')}\n`, { batchSize: 10, pieceLines: 480 });
    expect([out.received, out.loaded, out.duplicates]).toEqual([3000, 3000, 0]);
    const { rows: pieces } = await env.deps.staging.query<{ received: number; detail: { copiedDirectly: number } }>(
      'select received, detail from etl.load_pieces where load_id = $1 order by piece', [out.loadId]);
    expect(pieces.length).toBeGreaterThanOrEqual(2);
    for (const p of pieces) {
      expect(p.received).toBeGreaterThan(480);
      expect(p.detail.copiedDirectly).toBe(480);
    }
    // The lines after the last piece are a transaction of their own, with its own 48.
    const rest = 3000 - pieces.reduce((n, p) => n + p.received, 0);
    expect(out.copiedDirectly).toBe(480 * pieces.length + Math.min(480, rest));
  });

  it('writes a re-sent file\'s rejects whole while its first batch falls back from the direct COPY', async () => {
    // The same 100 lines were loaded from another file; 1,200 bad lines follow the first batch, so
    // their quarantine writes come while that batch's direct COPY fails and is rolled back.
    const good = Array.from({ length: 100 }, (_, i) => line(20_000 + i));
    const bad = Array.from({ length: 1200 }, (_, i) => `U${i},${id(30_000 + i)},2024-03-01,P1,Widget,many,2.50,2.50`);
    const opts = { batchSize: 10, pieceLines: 480 };
    await ingest('first.csv', `${HEADER}\n${good.join('\n')}\n`, opts);
    const again = await ingest('first-again.csv', `${HEADER}\n${[...good.slice(0, 10), ...bad, ...good.slice(10)].join('\n')}\n`, opts);
    expect([again.received, again.loaded, again.duplicates, again.copiedDirectly]).toEqual([1300, 0, 100, 0]);
    const { rows: [q] } = await env.deps.staging.query<{ n: string }>('select count(*) n from etl.quarantine where load_id = $1', [again.loadId]);
    expect(Number(q?.n)).toBe(1200);
  });

  it('gives two loads racing over the same new keys the upsert\'s counts: each key stored once', async () => {
    const body = `${HEADER}\n${Array.from({ length: 3000 }, (_, i) => line(40_000 + i)).join('\n')}\n`;
    const acts = createFilesActivities(env.deps);
    for (const name of ['race-a.csv', 'race-b.csv']) await putObject(env.deps.s3, env.deps.bucket, prefix + name, body, 'text/csv');
    const listed = (await acts.listNewPurchaseFiles({ dropPrefix: prefix })).files.filter((f) => /race-[ab]\.csv$/.test(f.key));
    expect(listed).toHaveLength(2);
    const outs = await Promise.all(listed.map((file) => acts.ingestPurchaseFile({ file, batchSize: 10, pieceLines: 480 })));
    const loads = await Promise.all(outs.map(async (o) => (await env.deps.staging.query<{ loaded: number; duplicates: number }>(
      'select loaded, duplicates from etl.loads where load_id = $1', [o.load?.loadId])).rows[0]));
    expect(loads.reduce((n, l) => n + (l?.loaded ?? 0), 0)).toBe(3000);
    expect(loads.reduce((n, l) => n + (l?.duplicates ?? 0), 0)).toBe(3000);
    const { rows: [stored] } = await env.deps.staging.query<{ n: string }>(
      `select count(*) n from staging.purchases where order_id like $1 and source_file like '%race-_.csv'`, [`${tag}-O4____`]);
    expect(Number(stored?.n)).toBe(3000);
  });
});
