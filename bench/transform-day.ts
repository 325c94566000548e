/**
 * How long does the transform take for one day of data? Generates a day at --scale, loads it into
 * staging stamped as arriving in one hour (test/support/transform-seed.ts stands in for ingestion),
 * then runs that hour's transform activities in the workflow's order and concurrency (extract all
 * sources in parallel; rebuild dates 4 at a time, each followed by its curated Parquet), twice: the
 * first run loads everything, the second finds only duplicates (the cost of an idempotent re-run),
 * and a third reads an hour's increment of the same day (the hourly steady state on a busy date).
 * Run: npx tsx bench/transform-day.ts --scale 1     (rows stay in staging/analytics under a prefix)
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { inTransaction } from '../activities/common/transaction';
import { createTransformActivities } from '../activities/transform';
import { runChecks } from '../activities/transform/checks';
import { loadDataChecks } from '../lib/data-checks';
import { TRANSFORM_SOURCES } from '../activities/transform/sources';
import { loadConfig } from '../config';
import { generateDataset } from '../shop/generator';
import { seedStaging } from '../test/support/transform-seed';
import { buildDeps as workersDeps } from '../workers/deps';
import { partitionAt } from '../workflows/partitions';
import { slidingWindow } from '../workflows/helpers';
import { DATE_CONCURRENCY } from '../workflows/transform';
import { planFromExtracts } from '../workflows/transform-plan';

const secs = (t: number) => ((performance.now() - t) / 1000).toFixed(1);

/** Runs one hour's transform activities as the workflow does; returns its wall time in seconds. */
export async function transformHour(acts: ReturnType<typeof createTransformActivities>, hour: string, tag: string): Promise<number> {
  const part = partitionAt('transform', hour);
  const t0 = performance.now();
  const extracts = await Promise.all(TRANSFORM_SOURCES.map((source) => acts.extractTransformSource({ source, ...part, loadId: `bench/${tag}/${part.partitionStart}/${source}`, changedOnly: true })));
  const tExtract = secs(t0);
  // The workflow's own plan (with its current patches): its dates and whether the catalog changed.
  const plan = planFromExtracts(extracts, true);
  const { dates } = plan;
  const t1 = performance.now();
  let lakeMs = 0;
  // As workflows/transform.ts goes on: the snapshot again after the dates when a date's load
  // inferred a dimension row (or found one no snapshot has covered).
  let dimsChanged = plan.dimsChanged;
  // Written while the dates load (DIMS_BESIDE_DATES_PATCH); again after them only if a load asks.
  const beside = dimsChanged ? acts.writeCuratedDimensions({ date: part.partitionStart.slice(0, 10) }) : undefined;
  const written = dimsChanged;
  dimsChanged = false;
  await Promise.all([slidingWindow(dates, DATE_CONCURRENCY, async (date) => {
    const loaded = await acts.loadAnalyticsDate({ date, partition: `bench/${tag}` });
    if (loaded.dimsInferred || loaded.dimsPending) dimsChanged = true;
    const tl = performance.now();
    await acts.writeCuratedDate({ date, clearPending: loaded.snapshot });
    lakeMs += performance.now() - tl;
  }), beside]);
  if (dimsChanged) await acts.writeCuratedDimensions({ date: part.partitionStart.slice(0, 10) });
  const received = extracts.reduce((a, e) => a + e.load.received, 0);
  const loaded = extracts.reduce((a, e) => a + e.load.loaded, 0);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${tag}: ${secs(t0)} s in all (extract ${tExtract} s, ${received} rows received, ${loaded} new; dates ${dates.join(', ')}: load + lake ${secs(t1)} s, of which Parquet ${(lakeMs / 1000).toFixed(1)} s summed over lanes; dimension snapshot ${written ? `written beside the dates${dimsChanged ? ' and again after them' : ''}` : dimsChanged ? 'written after the dates' : 'not needed'})`);
  return seconds;
}

async function main() {
  const { values } = parseArgs({ options: { scale: { type: 'string', default: '1' }, day: { type: 'string' } } });
  const scale = Number(values.scale);
  const day = values.day ?? new Date(Date.UTC(2090, 0, 1) + randomInt(0, 3000) * 86_400_000).toISOString().slice(0, 10);
  const prefix = `b${String(scale).replace('.', '_')}-${randomInt(1e6).toString(36)}-`;
  const deps = workersDeps(loadConfig());
  const dir = mkdtempSync(join(tmpdir(), 'bench-transform-'));
  try {
    let t = performance.now();
    const m = await generateDataset({ seed: 1, start: day, days: 1, scale, dirt: 'default', out: dir });
    console.log(`scale ${scale}, day ${day}, prefix ${prefix}: generated ${m.manifest.totals.rows} rows in ${secs(t)} s`);
    // Stamped as arriving in the last hour of the day, like a day's worth landing before one run.
    t = performance.now();
    const seeded = await seedStaging(deps.staging, dir, prefix, `bench/${prefix}`, new Date(`${day}T23:30:00Z`));
    console.log(`staged ${JSON.stringify(seeded)} in ${secs(t)} s`);
    const acts = createTransformActivities(deps);
    await transformHour(acts, `${day}T23:30:00Z`, `${prefix}first`);
    await transformHour(acts, `${day}T23:30:00Z`, `${prefix}rerun`);
    // An hour's increment: a 24th of the day's volume (other ids) arriving at 02:30 the next day, so
    // that hour's run reads only it (its window, with the 2 h look-back, starts at 00:00) and brings
    // the busy date up to date: the hourly schedule's steady state on a date that holds a day's data.
    const incDir = mkdtempSync(join(tmpdir(), 'bench-transform-inc-'));
    try {
      await generateDataset({ seed: 2, start: day, days: 1, scale: scale / 24, dirt: 'default', out: incDir });
      const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      const inc = await seedStaging(deps.staging, incDir, `${prefix}i-`, `bench/${prefix}i-`, new Date(`${next}T02:30:00Z`));
      console.log(`increment staged: ${JSON.stringify(inc)}`);
      await transformHour(acts, `${next}T02:30:00Z`, `${prefix}increment`);
    } finally {
      rmSync(incDir, { recursive: true, force: true });
    }
    // The data checks run inside each date's load (included above); timed alone here on the day itself.
    t = performance.now();
    const checks = await inTransaction(deps.analytics, (client) => runChecks(client, deps.staging, loadDataChecks(), day));
    console.log(`data checks of ${day} alone: ${secs(t)} s (${checks.map((c) => `${c.check} ${c.status}`).join(', ')})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await deps.close();
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
