/**
 * How fast does `etl rebuild --from-raw` bring a shop back, next to the live path that first
 * loaded it? A generated dataset at --scale goes through the REAL ingestion workflows (catalog,
 * orders, files, the events stream) and the transform, into databases and a bucket of the bench's
 * own (copies of the test templates; the user's databases and lake are never touched). Then staging
 * and analytics are truncated, curated/ is deleted, the sources are stopped, and rebuildWorkflow
 * replays raw. Both are timed and reported in rows per second (staged rows: every source table),
 * and the rebuilt checksums (staging, analytics, curated) must equal the first ones.
 * Run: npx tsx bench/rebuild.ts --scale 10      (services up first: npx etl services up)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { deletePrefix } from '../lib/s3';
import { generateDataset } from '../shop/generator';
import { rebuildWorkflow } from '../workflows/rebuild';
import { isolatedEnv } from '../test/support/isolated-env';
import { distinctValidEvents, ingestAndTransform, serveDataset, tagIds } from '../test/support/pipelines-run';
import { analyticsChecksums, curatedChecksums, stagingChecksums, truncateAll } from '../test/support/rebuild-checks';

const secs = (t: number) => (performance.now() - t) / 1000;

async function main() {
  const { values } = parseArgs({ options: { scale: { type: 'string', default: '1' } } });
  const scale = Number(values.scale);
  const base = loadConfig();
  const isolated = await isolatedEnv(base, 'bench-rebuild', 'bench');
  const { env, tag, bucket } = isolated;
  const dir = mkdtempSync(join(tmpdir(), 'bench-rebuild-'));
  let served: Awaited<ReturnType<typeof serveDataset>> | undefined;
  try {
    let t = performance.now();
    const { manifest } = await generateDataset({ seed: 1, start: '2024-06-03', days: 1, scale, dirt: 'default', out: dir });
    tagIds(dir, tag);
    served = await serveDataset(env, dir, tag);
    console.log(`scale ${scale}: generated and served ${manifest.totals.rows} rows in ${secs(t).toFixed(1)} s`);

    t = performance.now();
    await ingestAndTransform(env, served, {
      ordersFrom: manifest.range.start, ordersTo: new Date(Date.parse(manifest.range.end) + 7 * 86_400_000).toISOString(),
      expectedEvents: await distinctValidEvents(dir), eventsTimeoutMs: 1_800_000, maxMessages: 20_000,
    });
    const live = secs(t);
    const staged = await stagingChecksums(env.deps.staging);
    const rows = Object.entries(staged).filter(([k]) => k.startsWith('staging.')).reduce((n, [, c]) => n + Number(c.split(':')[0]), 0);
    const all = async () => ({ ...(await stagingChecksums(env.deps.staging)), ...(await analyticsChecksums(env.deps.analytics)), ...(await curatedChecksums(env.deps.s3, bucket)) });
    const before = await all();
    console.log(`live path (catalog, orders, files, events stream, transform): ${live.toFixed(1)} s, ${rows} staged rows, ${(rows / live).toFixed(0)} rows/s`);

    await served.stop();
    served = undefined;
    await truncateAll(env.deps.staging, env.deps.analytics);
    await deletePrefix(env.deps.s3, bucket, 'curated/');
    t = performance.now();
    const out = await env.withWorker(() => env.client.workflow.execute(rebuildWorkflow, { taskQueue: env.taskQueue, workflowId: `rebuild/${tag}`, args: [{ consumerGroup: `pipelines-${tag}` }] }));
    const rebuild = secs(t);
    const after = await all();
    const differ = Object.keys({ ...before, ...after }).filter((k) => before[k] !== after[k]);
    const same = differ.length === 0;
    console.log(`rebuild from raw (replay + transform): ${rebuild.toFixed(1)} s, ${out.totals.objects} objects, ${(rows / rebuild).toFixed(0)} rows/s; `
      + `${(rebuild / live).toFixed(2)}x the live path's time; ${Object.keys(before).length} checksums (staging, analytics, curated) ${same ? 'all equal' : `DIFFER: ${differ.join(', ')}`}${out.inexactObjects.length ? `; inexact: ${out.inexactObjects.join('; ')}` : ''}`);
    if (!same) process.exitCode = 1;
  } finally {
    await served?.stop();
    await isolated.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
