/**
 * Files pipeline throughput against PostgreSQL's own bulk path: one purchase CSV of --rows lines
 * (generator rows, dirt none, order ids replicated to stay unique) is loaded, in --rounds rounds of
 * alternation (the order rotates each round), by
 * - the pipeline: ingestPurchaseFile (S3 stream -> reader -> dataset rules -> COPY into
 *   staging.purchases: a direct COPY for a new file, the upsert where a batch meets stored keys;
 *   one transaction); every round must load all the rows (loaded === rows) and is
 *   then deleted, so each round and each baseline meets the same empty keys;
 * - `psql \copy` into a plain typed temp table: the bulk floor, no validation and no merge;
 * - `\copy` followed by the pipeline's upsert statement (distinct on the key, upsert into
 *   staging.purchases with its corrections policy), rolled back: the floor of a loader that merges
 *   every line (the pipeline now COPYs a new file's batches directly, and upserts only batches
 *   meeting stored keys).
 * Prints each run, then medians and the ratios of the medians.
 *   npx tsx bench/files-vs-copy.ts --rows 500000 --rounds 3
 * Everything it writes (staging rows, etl rows, S3 objects) is deleted at the end.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createFilesActivities, type IngestPurchaseFileOutput } from '../activities/files';
import { loadConfig } from '../config';
import { listObjects, putObject } from '../lib/s3';
import { buildDeps } from '../workers/deps';
import { cleanUpPurchaseBench, writePurchaseFile } from './purchase-file';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '500000' }, rounds: { type: 'string', default: '3' } } });
  const rows = Number(values.rows);
  const config = loadConfig();
  const deps = buildDeps(config);
  const tag = `bench${randomUUID().slice(0, 6)}`;
  const dir = mkdtempSync(join(tmpdir(), 'bench-files-'));
  const path = join(dir, 'purchases_2024-02-29.csv');
  const prefix = `bench/files-vs-copy/${tag}/`;
  let file: { key: string; etag: string; size: number; lastModified: string } | null = null;
  const forget = async (loadId: string) => {
    for (const t of ['staging.purchases', 'etl.quarantine', 'etl.files', 'etl.load_pieces', 'etl.loads']) await deps.staging.query(`delete from ${t} where load_id = $1`, [loadId]);
  };
  try {
    await writePurchaseFile(path, { rows }, tag);
    const bytes = statSync(path).size;
    await putObject(deps.s3, deps.bucket, prefix + 'purchases_2024-02-29.csv', readFileSync(path), 'text/csv');
    const [obj] = await listObjects(deps.s3, deps.bucket, prefix);
    if (!obj) throw new Error('upload not listed');
    const ref = { key: obj.key, etag: obj.etag, size: obj.size, lastModified: new Date().toISOString() };
    file = ref;

    const copySql = `\\copy bench_copy from '${path}' with (format csv, header true)`;
    const create = 'create temp table bench_copy (customer_id text, order_id text, order_date date, product_id text, product_name text, quantity integer, price numeric(14,2), total numeric(14,2))';
    // mergePurchases' upsert statement (activities/files/merge.ts) over the \copy'd rows, in one piece instead of batches.
    const content = ['customer_id', 'order_date', 'product_name', 'quantity', 'price', 'total', 'total_mismatch', 'extra'];
    const updated = [...content, 'source_file', 'source_line', 'load_id', 'file_modified_at'];
    const merge = `insert into staging.purchases as p (order_id, product_id, customer_id, order_date, product_name, quantity, price, total, total_mismatch, extra, source_file, source_line, load_id, file_modified_at)
      select distinct on (order_id, product_id) order_id, product_id, customer_id, order_date, product_name, quantity, price, total, total <> quantity * price, null, 'bench', n, 'bench', now()
      from (select *, row_number() over () as n from bench_copy) b order by order_id, product_id, n
      on conflict (order_id, product_id) do update set ${updated.map((c) => `${c} = excluded.${c}`).join(', ')}, ingested_at = now()
      where p.load_id <> excluded.load_id and (excluded.file_modified_at, excluded.load_id) > (coalesce(p.file_modified_at, '-infinity'), p.load_id)
        and (${content.map((c) => `p.${c}`).join(', ')}) is distinct from (${content.map((c) => `excluded.${c}`).join(', ')})`;
    const psql = (...commands: string[]) => {
      const t0 = performance.now();
      const r = spawnSync('psql', [config.STAGING_DATABASE_URL, '-v', 'ON_ERROR_STOP=1', '-q', ...commands.flatMap((c) => ['-c', c])], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
      return (performance.now() - t0) / 1000;
    };
    const acts = createFilesActivities(deps);
    const pipeline = async () => {
      const t = performance.now();
      const out = (await new MockActivityEnvironment().run(acts.ingestPurchaseFile, { file: ref })) as IngestPurchaseFileOutput;
      const seconds = (performance.now() - t) / 1000;
      const load = out.load;
      if (!load?.loadId) throw new Error(`the pipeline made no load: ${JSON.stringify(out)}`);
      await forget(load.loadId); // not timed: the next run (and the copy + merge) must meet empty keys
      if (load.loaded !== rows) throw new Error(`the pipeline loaded ${load.loaded} of ${rows} rows (received ${load.received}, quarantined ${load.quarantined}, duplicates ${load.duplicates})`);
      return seconds;
    };
    const modes: Array<[string, () => Promise<number> | number]> = [
      ['pipeline', pipeline], ['copy', () => psql(create, copySql)], ['copyThenMerge', () => psql('begin', create, copySql, merge, 'rollback')],
    ];
    const times: Record<string, number[]> = { pipeline: [], copy: [], copyThenMerge: [] };
    for (let round = 0; round < Number(values.rounds); round++) {
      for (let i = 0; i < modes.length; i++) {
        const [mode, run] = modes[(round + i) % modes.length] as (typeof modes)[number];
        // Untimed. A deleted or rolled-back row leaves its index entries until a vacuum, and each
        // later insert of its key checks the dead row: a file of new lines never meets that (a
        // re-sent one may, as autovacuum left the table), so this is the merge's best case.
        await deps.staging.query('vacuum staging.purchases');
        const seconds = await run();
        times[mode]?.push(seconds);
        console.log(JSON.stringify({ round: round + 1, mode, seconds: +seconds.toFixed(2), rowsPerSecond: Math.round(rows / seconds) }));
      }
    }
    const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<'pipeline' | 'copy' | 'copyThenMerge', number>;
    const rate = (s: number) => ({ seconds: +s.toFixed(2), rowsPerSecond: Math.round(rows / s) });
    console.log(JSON.stringify({
      rows, bytes, rounds: Number(values.rounds), loadedEveryRound: rows,
      median: { pipeline: rate(m.pipeline), psqlCopy: rate(m.copy), psqlCopyThenMerge: rate(m.copyThenMerge) },
      copyIsFasterBy: +(m.pipeline / m.copy).toFixed(2),
      copyThenMergeIsFasterBy: +(m.pipeline / m.copyThenMerge).toFixed(2),
    }));
  } finally {
    await cleanUpPurchaseBench(deps, file, prefix, dir);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
