import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFilesActivities, purchaseLoadId, purchaseRawKey, type PurchaseFileRef } from '../../activities/files';
import { deletePrefix, getObjectText, listObjects, putObject } from '../../lib/s3';
import { dropPurchaseFiles } from '../../shop/simulator/drops';
import { filesPipelineWorkflow, type FilesPipelineOutput } from '../../workflows/files';
import { partitionAt } from '../../workflows/partitions';
import { taggedDataset, type TestDataset } from '../support/datasets';
import { testEnv, type TestEnv } from '../support/env';
import { anyActivityRetried, startWorkerProcess, until } from '../support/wait';

const BAD_HEADER = 'purchases_2024-02-20_noprice.csv';
const BAD_FILE = 'CustomerID,OrderID,OrderDate,ProductID,ProductName,Quantity,Total\nU1,X1,2024-02-20,P1,A,1,1.00\nU1,X2,2024-02-20,P1,A,1,1.00\n\nU2,X3,2024-02-20,P2,B,2\n';

describe('files pipeline (real Temporal, PostgreSQL, S3; generator data dropped by the simulator)', () => {
  let env: TestEnv;
  let data: TestDataset;
  const tag = `f${randomUUID().slice(0, 8)}`;
  const prefix = `test/ingest-files/${tag}/drop/purchases/`;
  let loadIds: string[] = [];

  const checksum = async () => {
    const { rows } = await env.deps.staging.query<{ n: string; md5: string }>(
      `select count(*) n, md5(coalesce(string_agg(p::text, '|' order by order_id, product_id), '')) md5
       from (select order_id, product_id, customer_id, order_date, product_name, quantity, price, total, total_mismatch, extra, source_file, source_line, load_id
             from staging.purchases where load_id = any($1)) p`, [loadIds]);
    return rows[0];
  };
  const input = () => ({ ...partitionAt('files', new Date(Date.now() + 60_000)), dropPrefix: prefix, batchSize: 50 }); // small batches: several merges per file, overlapping the parse
  const run = (id: string) => {
    const i = input();
    return env.client.workflow.execute(filesPipelineWorkflow, { taskQueue: env.taskQueue, workflowId: `files/${i.partitionStart}/${tag}-${id}`, args: [i] });
  };
  /** Whether the run has listed its files: it scheduled a file load (they all wait at the gate). */
  const listed = async (h: WorkflowHandle) => ((await h.fetchHistory()).events ?? []).some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'ingestPurchaseFile');

  /**
   * Makes two runs race for every file, however the worker schedules them: an uncommitted
   * etl.loads row for each file's load id makes each run's load of it wait at its own insert
   * (runLoad), until both runs have listed every file; then the row goes and the loads race.
   */
  async function raceTwoRuns(): Promise<[FilesPipelineOutput, FilesPipelineOutput]> {
    const gated = (await listObjects(env.deps.s3, env.deps.bucket, prefix)).map((o) => purchaseLoadId(o));
    const gate = new Client({ connectionString: env.config.STAGING_DATABASE_URL, application_name: 'ingest-files-test:gate' });
    await gate.connect();
    try {
      await gate.query('begin');
      await gate.query(`insert into etl.loads (load_id, pipeline, source, status) select unnest($1::text[]), 'files', 'purchases', 'running'`, [gated]);
      return await env.withWorker(async () => {
        const i = input();
        const start = (id: string) => env.client.workflow.start(filesPipelineWorkflow, { taskQueue: env.taskQueue, workflowId: `files/${i.partitionStart}/${tag}-${id}`, args: [i] });
        const handles = [await start('a'), await start('b')];
        try {
          await until('both runs to list the files', async () => ((await Promise.all(handles.map(listed))).every(Boolean) ? true : undefined), 120_000, 100);
        } finally {
          await gate.query('rollback');
        }
        const [a, b] = await Promise.all(handles.map((h) => h.result()));
        return [a!, b!];
      });
    } finally {
      await gate.end();
    }
  }

  beforeAll(async () => {
    env = await testEnv('ingest-files');
    data = await taggedDataset(tag, { days: 4, scale: 0.3 });
    await dropPurchaseFiles({ s3: env.deps.s3, bucket: env.deps.bucket, dataDir: data.dir, prefix });
    await putObject(env.deps.s3, env.deps.bucket, prefix + BAD_HEADER, BAD_FILE, 'text/csv');
  });
  afterAll(async () => {
    // The file's databases are dropped with it; the bucket is shared by the test files.
    if (env) await deletePrefix(env.deps.s3, env.deps.bucket, `test/ingest-files/${tag}/`);
    data?.remove();
    await env?.close();
  });

  it('loads every file exactly once, even when two runs race, and reconciles with the manifest', async () => {
    const [a, b] = await raceTwoRuns();
    const all = [...a.loads, ...b.loads];
    const applied = all.filter((l) => !l.skipped);
    const skipped = all.filter((l) => l.skipped);
    const dropped = (await listObjects(env.deps.s3, env.deps.bucket, prefix)).map((o) => o.key);
    expect(dropped).toHaveLength(Object.keys(data.manifest.files).filter((f) => f.startsWith('purchases/')).length + 1);
    // Both runs listed every file before either committed one: each run returns a load per file...
    expect([a.loads.length, b.loads.length, a.vanished.length + b.vanished.length]).toEqual([dropped.length, dropped.length, 0]);
    // ...each file is applied by exactly one of them, and the other's load of it comes back skipped,
    // reporting the winner's counts.
    expect(applied.map((l) => l.loadId).sort()).toEqual([...new Set(applied.map((l) => l.loadId))].sort());
    expect(applied).toHaveLength(dropped.length);
    expect(skipped.map(({ skipped: _s, ...l }) => l).sort((x, y) => x.loadId.localeCompare(y.loadId)))
      .toEqual([...applied].sort((x, y) => x.loadId.localeCompare(y.loadId)));
    loadIds = applied.map((l) => l.loadId);

    for (const l of applied) {
      expect(l.received).toBe(l.loaded + l.quarantined + l.duplicates);
      const name = l.loadId.slice(l.loadId.lastIndexOf('/') + 1).replace(/@.*$/, '');
      if (name === BAD_HEADER) continue;
      const m = data.manifest.files[`purchases/${name}`];
      expect(m, name).toBeDefined();
      expect({ name, received: l.received, quarantined: l.quarantined, duplicates: l.duplicates }).toEqual({ name, received: m?.rows, quarantined: m?.invalid, duplicates: m?.duplicates });
    }
    const { rows: recorded } = await env.deps.staging.query<{ load_id: string; received: number; loaded: number; quarantined: number; duplicates: number; detail: Record<string, unknown>; q: string; s: string }>(
      `select l.load_id, l.received, l.loaded, l.quarantined, l.duplicates, l.detail,
              (select count(*) from etl.quarantine q where q.load_id = l.load_id) q,
              (select count(*) from staging.purchases p where p.load_id = l.load_id) s
       from etl.loads l where l.load_id = any($1) and l.status = 'succeeded'`, [loadIds]);
    expect(recorded).toHaveLength(loadIds.length);
    const purchaseStats = Object.entries(data.manifest.files).filter(([f]) => f.startsWith('purchases/')).map(([, s]) => s);
    const t = { rows: 0, invalid: 0, duplicates: 0 };
    for (const s of purchaseStats) for (const k of ['rows', 'invalid', 'duplicates'] as const) t[k] += s[k];
    const sum = (k: 'received' | 'loaded' | 'quarantined' | 'duplicates') => recorded.reduce((acc, r) => acc + r[k], 0);
    expect({ received: sum('received'), quarantined: sum('quarantined'), duplicates: sum('duplicates') })
      .toEqual({ received: t.rows + 3, quarantined: t.invalid + 3, duplicates: t.duplicates });
    for (const r of recorded) {
      expect(Number(r.s)).toBe(r.loaded);
      const whole = r.load_id.includes(BAD_HEADER);
      expect(Number(r.q)).toBe(whole ? 1 : r.quarantined);
      const name = r.load_id.slice(r.load_id.lastIndexOf('/') + 1).replace(/@.*$/, '');
      if (!whole) expect(r.detail.totalMismatch).toBe(data.manifest.files[`purchases/${name}`]?.defects.total_mismatch);
    }
  });

  it('evolves the schema-change files and quarantines the unmappable one whole, losing nothing', async () => {
    const change = data.manifest.schemaChange;
    expect(change?.files.length).toBeGreaterThan(0);
    const { rows } = await env.deps.staging.query<{ load_id: string; detail: Record<string, unknown>; received: number; quarantined: number }>(
      'select load_id, detail, received, quarantined from etl.loads where load_id = any($1)', [loadIds]);
    for (const path of change?.files ?? []) {
      const r = rows.find((x) => x.load_id.includes(`/${path.slice('purchases/'.length)}@`));
      expect(r?.detail.extraColumns).toEqual(['Currency']);
      if (path.endsWith('.csv')) expect(r?.detail.renamed).toEqual({ Qty: 'Quantity' });
      const { rows: extra } = await env.deps.staging.query('select distinct extra from staging.purchases where load_id = $1', [r?.load_id]);
      expect(extra).toEqual([{ extra: { Currency: 'USD' } }]);
    }
    const bad = rows.find((x) => x.load_id.includes(BAD_HEADER));
    expect(bad).toMatchObject({ received: 3, quarantined: 3 });
    expect(String(bad?.detail.quarantinedWhole)).toMatch(/header lacks Price/);
    const lake = (await getObjectText(env.deps.s3, env.deps.bucket, String(bad?.detail.quarantineKey))).trim().split('\n').map((l) => JSON.parse(l) as { line: number; reason: string });
    expect(lake.map((l) => l.line)).toEqual([2, 3, 5]);
    const { rows: q } = await env.deps.staging.query('select record_ref, reason from etl.quarantine where load_id = $1', [bad?.load_id]);
    expect(q).toEqual([{ record_ref: `${prefix}${BAD_HEADER}:1`, reason: expect.stringMatching(/quarantined whole: header lacks Price.*3 data lines/) }]);
  });

  it('keeps an immutable raw copy and a lake quarantine object with one line per rejected record', async () => {
    let withRejects = 0;
    const objects = await listObjects(env.deps.s3, env.deps.bucket, prefix);
    expect(objects.length).toBeGreaterThan(1);
    for (const o of objects) {
      const file = { key: o.key, etag: o.etag, size: o.size, lastModified: (o.lastModified ?? new Date()).toISOString() };
      expect(await getObjectText(env.deps.s3, env.deps.bucket, purchaseRawKey(file))).toBe(await getObjectText(env.deps.s3, env.deps.bucket, o.key));
      const { rows } = await env.deps.staging.query<{ quarantined: number; detail: { quarantineKey: string | null; quarantinedWhole: string | null } }>(
        'select quarantined, detail from etl.loads where load_id = $1', [purchaseLoadId(file)]);
      const r = rows[0];
      expect(r, `a load row for ${o.key}`).toBeDefined();
      if (!r?.quarantined) continue;
      withRejects++;
      const lines = (await getObjectText(env.deps.s3, env.deps.bucket, String(r.detail.quarantineKey))).trim().split('\n');
      expect(lines).toHaveLength(r.quarantined);
      // etl.quarantine, counted by query: one row per rejected line, or one for a file quarantined whole.
      const { rows: q } = await env.deps.staging.query<{ n: string }>('select count(*) n from etl.quarantine where load_id = $1', [purchaseLoadId(file)]);
      expect(Number(q[0]?.n)).toBe(r.detail.quarantinedWhole ? 1 : r.quarantined);
    }
    // Every generated file with invalid lines was checked, and the file without Price.
    const invalidFiles = Object.entries(data.manifest.files).filter(([f, st]) => f.startsWith('purchases/') && st.invalid > 0).length;
    expect(withRejects).toBe(invalidFiles + 1);
  });

  it('loads a large file in pieces; a worker killed -9 mid-file resumes after the last committed piece, not at byte 0, from the raw copy', async () => {
    // The same 12,000 lines twice, ids prefixed apart: bad lines (quarantined) and repeats of lines
    // 600 earlier (duplicates, across pieces too). The reference loads in one transaction.
    const HEAD = 'CustomerID,OrderID,OrderDate,ProductID,ProductName,Quantity,Price,Total';
    const body = (p: string) => {
      const out = [HEAD];
      for (let i = 0; i < 12_000; i++) {
        if (i % 997 === 5) out.push(`${p}U${i},${p}O${i},not a date,${p}P1,Widget,1,2.50,2.50`);
        else if (i % 1500 === 700) out.push(out[i + 1 - 600] as string);
        else out.push(`${p}U${i % 300},${p}O${Math.floor(i / 3)},2024-03-0${1 + (i % 5)},${p}P${i % 50},Widget ${i % 50},${1 + (i % 4)},2.50,${(2.5 * (1 + (i % 4))).toFixed(2)}`);
      }
      return out.join('\n') + '\n';
    };
    const drop = async (p: string) => {
      const dir = `test/ingest-files/${tag}/pieces-${p}/`;
      await putObject(env.deps.s3, env.deps.bucket, `${dir}big.csv`, body(p), 'text/csv');
      const [o] = await listObjects(env.deps.s3, env.deps.bucket, dir);
      if (!o) throw new Error('not dropped');
      return { dir, file: { key: o.key, etag: o.etag, size: o.size, lastModified: (o.lastModified ?? new Date()).toISOString() } satisfies PurchaseFileRef };
    };
    const rowsOf = async (loadId: string, p: string) => (await env.deps.staging.query<{ r: string }>(
      `select replace(concat_ws('|', order_id, product_id, customer_id, order_date, product_name, quantity, price, total, total_mismatch, source_line), $2, '') r
       from staging.purchases where load_id = $1 order by source_line`, [loadId, p])).rows.map((r) => r.r);
    const quarantinedOf = async (loadId: string) => (await env.deps.staging.query<{ r: string }>(
      `select split_part(record_ref, ':', 2) || ' ' || reason r from etl.quarantine where load_id = $1 order by split_part(record_ref, ':', 2)::int`, [loadId])).rows.map((r) => r.r);

    const ref = await drop('R');
    const whole = await createFilesActivities(env.deps).ingestPurchaseFile({ file: ref.file });
    const bad = Array.from({ length: 12_000 }, (_, n) => n).filter((n) => n % 997 === 5).length; // 13
    const repeats = Array.from({ length: 12_000 }, (_, n) => n).filter((n) => n % 1500 === 700).length; // 8
    expect(whole.load).toMatchObject({ received: 12_000, quarantined: bad, duplicates: repeats, loaded: 12_000 - bad - repeats });

    const kill = await drop('K');
    const loadId = purchaseLoadId(kill.file);
    // An uncommitted row with the key of line 6,001 (order K2000, product K0): the merge that
    // reaches it waits, with its piece's transaction open, while the earlier pieces have committed.
    const gate = new Client({ connectionString: env.config.STAGING_DATABASE_URL, application_name: 'ingest-files-test:piece-gate' });
    await gate.connect();
    await gate.query('begin');
    await gate.query(`insert into staging.purchases (order_id, product_id, customer_id, order_date, quantity, price, total_mismatch, source_file, source_line, load_id)
      values ('KO2000', 'KP0', 'gate', '2024-03-01', 1, 1, false, 'gate', 0, 'gate')`);
    const taskQueue = `test-ingest-files-kill-${tag}`;
    let worker = await startWorkerProcess(taskQueue);
    const i = { ...partitionAt('files', new Date(Date.now() + 60_000)), dropPrefix: kill.dir, batchSize: 200, pieceLines: 1000 };
    const workflowId = `files/${i.partitionStart}/${tag}-pieces`;
    const handle = await env.client.workflow.start(filesPipelineWorkflow, { taskQueue, workflowId, args: [i] });
    let committed = 0;
    let killedAt: Date;
    try {
      await until('a merge waiting at the gate row', async () => {
        const { rowCount } = await env.deps.staging.query(`select 1 from pg_stat_activity where wait_event_type = 'Lock' and query like '%staging.purchases%' and application_name <> 'ingest-files-test:piece-gate'`);
        return rowCount ? true : undefined;
      }, 120_000, 50);
      committed = Number((await env.deps.staging.query<{ n: string }>('select count(*) n from etl.load_pieces where load_id = $1', [loadId])).rows[0]?.n);
      worker.kill('SIGKILL');
      killedAt = new Date();
      await gate.query('rollback');
      // The dropped object goes away meanwhile: the resumed load reads the raw copy it began with.
      await env.deps.s3.send(new DeleteObjectCommand({ Bucket: env.deps.bucket, Key: kill.file.key }));
      expect(committed).toBeGreaterThan(0);
      worker = await startWorkerProcess(taskQueue);
      const out = await handle.result();
      expect(out.loads).toHaveLength(1);
      expect(out.loads[0]).toMatchObject({ received: 12_000, loaded: whole.load?.loaded, quarantined: bad, duplicates: repeats });
      expect(await anyActivityRetried(env.client, workflowId)).toBe(true);
    } finally {
      worker.kill('SIGTERM');
      await gate.end();
    }

    // The pieces follow one another; the first attempt's were kept, the rest came from the retry.
    const { rows: pieces } = await env.deps.staging.query<{ piece: number; end_line: string; attempt: number; received: number }>(
      'select piece, end_line, attempt, received from etl.load_pieces where load_id = $1 order by piece', [loadId]);
    expect(pieces.length).toBeGreaterThan(committed);
    expect(pieces.map((p) => p.piece)).toEqual(pieces.map((_, n) => n + 1));
    expect(pieces.slice(0, committed).every((p) => p.attempt === 1)).toBe(true);
    expect(pieces.slice(committed).every((p) => p.attempt > 1)).toBe(true);
    const { rows: [load] } = await env.deps.staging.query<{ status: string; detail: { resumedAfterPiece?: number; resumedAtLine?: number; pieces?: number } }>(
      'select status, detail from etl.loads where load_id = $1', [loadId]);
    expect(load?.status).toBe('succeeded');
    expect(load?.detail.resumedAfterPiece).toBe(committed);
    expect(load?.detail.resumedAtLine).toBe(Number(pieces[committed - 1]?.end_line));
    // Nothing before the resume point was loaded again: those rows are the first attempt's.
    const { rows: [early] } = await env.deps.staging.query<{ before: string; upto: string }>(
      `select count(*) filter (where ingested_at < $2) before, count(*) filter (where source_line <= $3) upto from staging.purchases where load_id = $1`,
      [loadId, killedAt!, Number(pieces[committed - 1]?.end_line)]);
    expect(Number(early?.before)).toBe(Number(early?.upto));
    expect(Number(early?.before)).toBeGreaterThan(0);

    // Row for row, reject for reject, the same as the load in one transaction.
    expect(await rowsOf(loadId, 'K')).toEqual(await rowsOf(purchaseLoadId(ref.file), 'R'));
    expect(await quarantinedOf(loadId)).toEqual(await quarantinedOf(purchaseLoadId(ref.file)));
    const keys = (load?.detail as { quarantineKeys?: string[] }).quarantineKeys ?? [];
    let lakeLines = 0;
    for (const k of keys) lakeLines += (await getObjectText(env.deps.s3, env.deps.bucket, k)).trim().split('\n').length;
    expect(lakeLines).toBe(bad);
  });

  it('leaves staging unchanged when the pipeline runs again or a file load is retried', async () => {
    const before = await checksum();
    expect(Number(before?.n)).toBeGreaterThan(0);
    const again = await env.withWorker(() => run('c'));
    expect(again.loads).toEqual([]);
    const acts = createFilesActivities(env.deps);
    const listed = await listObjects(env.deps.s3, env.deps.bucket, prefix);
    const first = listed[0];
    if (!first) throw new Error('nothing dropped');
    const retry = await acts.ingestPurchaseFile({ file: { key: first.key, etag: first.etag, size: first.size, lastModified: new Date().toISOString() } });
    expect(retry.load?.skipped).toBe(true);
    expect(await checksum()).toEqual(before);
  });
});
