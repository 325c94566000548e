/**
 * One large purchase CSV through the files pipeline (issue 12 P6: a 2 GB file with peak RSS ≤ 400
 * MB): generates --gigabytes of generator lines (dirt none, order ids made unique), streams them to
 * the drop zone, then loads the file with ingestPurchaseFile in a child process, so the peak RSS
 * reported is the loader's own (process.resourceUsage().maxRSS), not the generator's. Prints rows/s
 * and peak RSS; deletes what it wrote.
 *
 *   npx tsx bench/large-file.ts --gigabytes 2
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Upload } from '@aws-sdk/lib-storage';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createFilesActivities, type IngestPurchaseFileOutput, type PurchaseFileRef } from '../activities/files';
import { loadConfig } from '../config';
import { listObjects } from '../lib/s3';
import { buildDeps } from '../workers/deps';
import { cleanUpPurchaseBench, writePurchaseFile } from './purchase-file';

/** The child: loads one file and prints its load, time and peak RSS as one JSON line. */
async function load(ref: PurchaseFileRef): Promise<void> {
  const deps = buildDeps(loadConfig());
  try {
    const t = performance.now();
    const out = (await new MockActivityEnvironment().run(createFilesActivities(deps).ingestPurchaseFile, { file: ref })) as IngestPurchaseFileOutput;
    const seconds = (performance.now() - t) / 1000;
    console.log(JSON.stringify({ seconds, load: out.load, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
  } finally {
    await deps.close();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { gigabytes: { type: 'string', default: '2' }, load: { type: 'string' } } });
  if (values.load) return load(JSON.parse(values.load) as PurchaseFileRef);
  const bytes = Number(values.gigabytes) * 1024 ** 3;
  const config = loadConfig();
  const deps = buildDeps(config);
  const tag = `big${randomUUID().slice(0, 6)}`;
  const dir = mkdtempSync(join(tmpdir(), 'bench-large-'));
  const path = join(dir, 'purchases_2024-02-29.csv');
  const prefix = `bench/large-file/${tag}/`;
  let ref: PurchaseFileRef | undefined;
  try {
    let t = performance.now();
    const rows = await writePurchaseFile(path, { bytes }, tag, 5);
    const size = statSync(path).size;
    console.log(`generated ${rows} lines, ${(size / 1024 ** 2).toFixed(0)} MiB in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
    await new Upload({ client: deps.s3, params: { Bucket: deps.bucket, Key: `${prefix}purchases_2024-02-29.csv`, Body: createReadStream(path), ContentType: 'text/csv' } }).done();
    console.log(`uploaded to the drop zone in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const [obj] = await listObjects(deps.s3, deps.bucket, prefix);
    if (!obj) throw new Error('upload not listed');
    ref = { key: obj.key, etag: obj.etag, size: obj.size, lastModified: new Date().toISOString() };
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', __filename, '--load', JSON.stringify(ref)], { maxBuffer: 1 << 24, env: process.env });
    const r = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { seconds: number; load?: { loaded: number; received: number; quarantined: number }; maxRssMiB: number };
    console.log(JSON.stringify({ bytes: size, rows, seconds: +r.seconds.toFixed(1), rowsPerSecond: Math.round(rows / r.seconds), loaded: r.load?.loaded, quarantined: r.load?.quarantined, peakRssMiB: r.maxRssMiB, goalRssMiB: 400 }));
    if (r.load?.loaded !== rows) throw new Error(`loaded ${r.load?.loaded} of ${rows} rows`);
  } finally {
    await cleanUpPurchaseBench(deps, ref, prefix, dir);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
