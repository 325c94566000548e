/**
 * Files pipeline throughput against PostgreSQL's own bulk path: one purchase CSV of --rows lines
 * (generator rows, dirt none, order ids replicated to stay unique) is loaded by ingestPurchaseFile
 * (S3 stream → csv-parse → dataset rules → COPY merge into staging.purchases, one transaction) and by
 * `psql \copy` into a plain typed table, in the same run. Prints rows/s of each and the ratio; also
 * \copy followed by the pipeline's merge into staging.purchases (rolled back), PostgreSQL's floor.
 *   npx tsx bench/files-vs-copy.ts --rows 500000
 * Everything it writes (staging rows, etl rows, S3 objects) is deleted at the end.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createFilesActivities, purchaseRawKey, type IngestPurchaseFileOutput } from '../activities/files';
import { loadConfig } from '../config';
import { deletePrefix, listObjects, putObject } from '../lib/s3';
import { generateDataset } from '../shop/generator';
import { buildDeps } from '../workers/deps';

async function writeFile(path: string, rows: number, tag: string): Promise<void> {
  const gen = mkdtempSync(join(tmpdir(), 'bench-files-'));
  await generateDataset({ seed: 3, start: '2024-03-01', days: 1, scale: 1, dirt: 'none', out: gen });
  const [header, ...lines] = readFileSync(join(gen, 'purchases', 'purchases_2024-02-29.csv'), 'utf8').trim().split('\n');
  rmSync(gen, { recursive: true, force: true });
  const out = createWriteStream(path);
  out.write(`${header}\n`);
  for (let i = 0, rep = 0; i < rows; rep++) {
    for (const line of lines) {
      if (i++ >= rows) break;
      if (!out.write(line.replace(/\bH(\d+)\b/, `${tag}r${rep}H$1`) + '\n')) await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '500000' } } });
  const rows = Number(values.rows);
  const config = loadConfig();
  const deps = buildDeps(config);
  const tag = `bench${randomUUID().slice(0, 6)}`;
  const dir = mkdtempSync(join(tmpdir(), 'bench-files-'));
  const path = join(dir, 'purchases_2024-02-29.csv');
  const prefix = `bench/files-vs-copy/${tag}/`;
  let result: IngestPurchaseFileOutput | null = null;
  try {
    await writeFile(path, rows, tag);
    const bytes = statSync(path).size;
    await putObject(deps.s3, deps.bucket, prefix + 'purchases_2024-02-29.csv', readFileSync(path), 'text/csv');
    const [obj] = await listObjects(deps.s3, deps.bucket, prefix);
    if (!obj) throw new Error('upload not listed');
    const file = { key: obj.key, etag: obj.etag, size: obj.size, lastModified: new Date().toISOString() };

    const copySql = `\\copy bench_copy from '${path}' with (format csv, header true)`;
    const create = 'create temp table bench_copy (customer_id text, order_id text, order_date date, product_id text, product_name text, quantity integer, price numeric(14,2), total numeric(14,2))';
    // The same merge as the pipeline's, done by PostgreSQL alone and rolled back: the floor of any loader that dedups by key.
    const merge = `insert into staging.purchases (order_id, product_id, customer_id, order_date, product_name, quantity, price, total, total_mismatch, source_file, source_line, load_id)
      select order_id, product_id, customer_id, order_date, product_name, quantity, price, total, total <> quantity * price, 'bench', 0, 'bench' from bench_copy on conflict do nothing`;
    const psql = (...commands: string[]) => {
      const t0 = performance.now();
      const r = spawnSync('psql', [config.STAGING_DATABASE_URL, '-v', 'ON_ERROR_STOP=1', '-q', ...commands.flatMap((c) => ['-c', c])], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
      return (performance.now() - t0) / 1000;
    };
    const copySeconds = psql(create, copySql);
    const copyMergeSeconds = psql('begin', create, copySql, merge, 'rollback');

    const acts = createFilesActivities(deps);
    const t = performance.now();
    result = (await new MockActivityEnvironment().run(acts.ingestPurchaseFile, { file })) as IngestPurchaseFileOutput;
    const pipelineSeconds = (performance.now() - t) / 1000;

    const load = result.load;
    console.log(JSON.stringify({
      rows, bytes, received: load?.received, loaded: load?.loaded, duplicates: load?.duplicates, quarantined: load?.quarantined,
      pipeline: { seconds: +pipelineSeconds.toFixed(2), rowsPerSecond: Math.round(rows / pipelineSeconds) },
      psqlCopy: { seconds: +copySeconds.toFixed(2), rowsPerSecond: Math.round(rows / copySeconds) },
      psqlCopyThenMerge: { seconds: +copyMergeSeconds.toFixed(2), rowsPerSecond: Math.round(rows / copyMergeSeconds) },
      copyIsFasterBy: +(pipelineSeconds / copySeconds).toFixed(2),
      copyThenMergeIsFasterBy: +(pipelineSeconds / copyMergeSeconds).toFixed(2),
    }));
    await deps.s3.send(new DeleteObjectCommand({ Bucket: deps.bucket, Key: purchaseRawKey(file) }));
  } finally {
    const loadId = result?.load?.loadId;
    if (loadId) {
      for (const sql of ['delete from staging.purchases where load_id = $1', 'delete from etl.quarantine where load_id = $1', 'delete from etl.files where load_id = $1', 'delete from etl.loads where load_id = $1']) {
        await deps.staging.query(sql, [loadId]);
      }
    }
    await deletePrefix(deps.s3, deps.bucket, prefix);
    rmSync(dir, { recursive: true, force: true });
    await deps.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
