/**
 * One large purchase CSV through the files pipeline (issue 12 P6: a 2 GB file with peak RSS ≤ 400
 * MB): generates --gigabytes of generator lines (dirt none, order ids made unique), streams them to
 * the drop zone, then loads the file with ingestPurchaseFile in a child process, so the peak RSS
 * reported is the loader's own (process.resourceUsage().maxRSS), not the generator's. Prints rows/s
 * and peak RSS; deletes what it wrote.
 *
 * With --kill-at F (0 < F < 1) the loader is killed with SIGKILL once pieces covering F of the lines
 * have committed, and a second loader takes the file up: it goes on after the last committed piece
 * (etl.load_pieces), and the bench reports where it resumed and how long each part took.
 *
 *   npx tsx bench/large-file.ts --gigabytes 2
 *   npx tsx bench/large-file.ts --gigabytes 2 --kill-at 0.5
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Upload } from '@aws-sdk/lib-storage';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createFilesActivities, type IngestPurchaseFileOutput, type PurchaseFileRef } from '../activities/files';
import { loadConfig } from '../config';
import { listObjects } from '../lib/s3';
import { purchaseLoadId } from '../activities/files';
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

/** A loader child process; `done` resolves with its stdout when it exits with 0. */
function loader(ref: PurchaseFileRef): { kill(signal: NodeJS.Signals): void; exitCode: number | null; done: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--load', JSON.stringify(ref)], { env: process.env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<string>((resolve, reject) => child.on('exit', (code, signal) => (code === 0 ? resolve(out) : reject(new Error(`loader exited with ${code ?? signal}`)))));
  return { kill: (s) => child.kill(s), get exitCode() { return child.exitCode; }, done };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { gigabytes: { type: 'string', default: '2' }, load: { type: 'string' }, 'kill-at': { type: 'string' } } });
  const killAt = values['kill-at'] === undefined ? null : Number(values['kill-at']);
  if (killAt !== null && !(killAt > 0 && killAt < 1)) throw new Error(`--kill-at must be a fraction between 0 and 1, got ${values['kill-at']}`);
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
    const loadId = purchaseLoadId(ref);
    let killed: { seconds: number; committedLines: number } | null = null;
    if (killAt !== null) {
      t = performance.now();
      const child = loader(ref);
      for (;;) {
        await new Promise((r) => setTimeout(r, 500));
        const { rows: [p] } = await deps.staging.query<{ line: string | null }>('select max(end_line) line from etl.load_pieces where load_id = $1', [loadId]);
        if (Number(p?.line ?? 0) >= killAt * rows) break;
        if (child.exitCode !== null) throw new Error('the loader finished before the kill');
      }
      child.kill('SIGKILL');
      await child.done.catch(() => undefined);
      const { rows: [p] } = await deps.staging.query<{ line: string | null }>('select max(end_line) line from etl.load_pieces where load_id = $1', [loadId]);
      killed = { seconds: +((performance.now() - t) / 1000).toFixed(1), committedLines: Number(p?.line ?? 0) };
      console.log(`killed the loader (SIGKILL) after ${killed.seconds} s with lines 1..${killed.committedLines} committed`);
    }
    const r = JSON.parse((await loader(ref).done).trim().split('\n').at(-1) ?? '{}') as { seconds: number; load?: { loaded: number; received: number; quarantined: number }; maxRssMiB: number };
    const { rows: [d] } = await deps.staging.query<{ detail: { pieces?: number; resumedAtLine?: number } }>('select detail from etl.loads where load_id = $1', [loadId]);
    console.log(JSON.stringify({
      bytes: size, rows, seconds: +r.seconds.toFixed(1), rowsPerSecond: Math.round((rows - (killed?.committedLines ?? 0)) / r.seconds), loaded: r.load?.loaded, quarantined: r.load?.quarantined,
      peakRssMiB: r.maxRssMiB, goalRssMiB: 400, pieces: d?.detail.pieces ?? 1,
      ...(killed ? { killedAfterSeconds: killed.seconds, resumedAtLine: d?.detail.resumedAtLine ?? 0, linesNotReadAgain: d?.detail.resumedAtLine ?? 0 } : {}),
    }));
    if (r.load?.loaded !== rows) throw new Error(`loaded ${r.load?.loaded} of ${rows} rows`);
    if (killed && d?.detail.resumedAtLine !== killed.committedLines) throw new Error(`resumed at line ${d?.detail.resumedAtLine}, not after the ${killed.committedLines} committed lines`);
  } finally {
    await cleanUpPurchaseBench(deps, ref, prefix, dir);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
