/**
 * Fuzzed shop-database rows through the real catalog activities: a private schema of the shop
 * database (read by etl_shop_reader through search_path), two partitions (the run's era day, and
 * the last day of year 9999), four sources each; then every row found again by its key.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import { createActivities } from '../../activities';
import type { CatalogSourceInput } from '../../activities/catalog';
import { safeName } from '../../lib/lake';
import { deletePrefix } from '../../lib/s3';
import { CATALOG_TABLES, fuzzCatalog, KEY_COLUMNS, type CatalogRow, type CatalogWindow } from './fuzz-catalog';
import { emptyReport, reconcile, type LoadFacts, type ReceivedRecord, type SourceReport } from './fuzz-ledger';
import type { SourceRunOptions } from './fuzz-run-files';
import { activityEnv, dropLoads, errorText, loadFacts, seconds, withDeadline, type FuzzEnv } from './fuzz-run';

/** The date columns a loaded row is checked for, as staging holds them. */
const DATES: Record<string, string> = { signup_date: 'signup_date::text', created_at: `to_char(created_at at time zone 'UTC', 'YYYY-MM-DD')` };
const ACTIVITY = { products: 'loadProducts', users: 'loadUsers', inventory: 'loadInventory', reviews: 'loadReviews' } as const;

export async function fuzzCatalogRun(env: FuzzEnv, o: SourceRunOptions): Promise<{ report: SourceReport; cleanUp(): Promise<void> }> {
  const began = performance.now();
  const report = emptyReport('catalog');
  const { staging } = env.deps;
  const schema = `fuzz_${o.tag.toLowerCase().replace(/[^a-z0-9]/g, '')}`;
  const eraDay = `${o.era}-06-01`;
  const windows: Partial<Record<CatalogWindow, { partitionStart: string; partitionEnd: string }>> = {
    era: { partitionStart: `${eraDay}T00:00:00.000Z`, partitionEnd: `${eraDay}T23:59:59.999Z` },
    future: { partitionStart: '9999-12-31T00:00:00.000Z', partitionEnd: '9999-12-31T23:59:59.999Z' },
  };
  const owner = new Pool({ connectionString: env.config.SHOP_OWNER_DATABASE_URL, options: `-c search_path=${schema}`, max: 2 });
  const reader = new Pool({ connectionString: env.config.SHOP_DATABASE_URL, options: `-c search_path=${schema}`, max: 4 });
  await owner.query(`create schema ${schema}`);
  await owner.query(readFileSync(join(__dirname, '../../sql/shop/001_shop.sql'), 'utf8').replace(/^grant .*$/gm, ''));
  await owner.query(`grant usage on schema ${schema} to etl_shop_reader; grant select on all tables in schema ${schema} to etl_shop_reader`);

  const rows = fuzzCatalog({ seed: o.seed, tag: o.tag, bad: o.bad, eraDay }).filter((r) => !o.exclude?.test(r.kind));
  for (const t of CATALOG_TABLES) {
    const mine = rows.filter((r) => r.table === t);
    // One statement per few rows: a megabyte of text each is a large parameter.
    for (let i = 0; i < mine.length; i += 200) {
      await owner.query(`insert into ${t} select * from json_populate_recordset(null::${t}, $1)`, [JSON.stringify(mine.slice(i, i + 200).map((r) => r.values))]);
    }
    for (const r of mine) r.values = {}; // the shop database holds them now; the key is kept
  }

  const wide = `${o.era}-06-02`;
  if (o.wideRows) {
    // Made by PostgreSQL (md5 text: a megabyte each that no compression makes small), not held here.
    await owner.query(`insert into products select $2 || '-wide' || g, (select string_agg(md5(g::text || i::text), '') from generate_series(1, 31250) i), 'Wide', 1,
      $3::timestamptz + g * interval '1 second' from generate_series(1, $1) g`, [o.wideRows, o.tag, `${wide}T00:00:00Z`]);
  }
  const acts = createActivities({ ...env.deps, shop: reader });
  const workflowId = (w: CatalogWindow) => `fuzz-catalog/${o.tag}/${w}`;
  if (o.wideRows) windows.wide = { partitionStart: `${wide}T00:00:00.000Z`, partitionEnd: `${wide}T23:59:59.999Z` };
  const runs = (Object.keys(windows) as CatalogWindow[]).flatMap((w) => (w === 'wide' ? ['products' as const] : CATALOG_TABLES).map((t) => ({ w, t })));
  await Promise.all(runs.map(async ({ w, t }) => {
    const name = `${t}, ${w === 'era' ? `day ${eraDay}` : w === 'wide' ? `${o.wideRows} rows of 1 MB in one window` : 'year 9999'}`;
    const started = performance.now();
    try {
      const input = { ...windows[w], backfill: true, workflowId: workflowId(w) } as CatalogSourceInput;
      await withDeadline(name, o.deadlineMs, activityEnv().run(acts[ACTIVITY[t]], input));
      report.scenarios.push({ name, seconds: seconds(started), outcome: 'loaded', ok: true });
    } catch (err) {
      report.violations.push(`${name}: the load failed: ${errorText(err)}`);
      report.scenarios.push({ name, seconds: seconds(started), outcome: errorText(err), ok: false });
    }
  }));

  const facts = new Map<string, LoadFacts>();
  for (const { w, t } of runs) {
    const loadId = `${workflowId(w)}/${t}`;
    const dateCols = Object.keys(DATES).filter((c) => rows.some((r) => r.table === t && r.dateColumn === c));
    const select = [`${KEY_COLUMNS[t].join(` || '|' || `)} as sref`, ...dateCols.map((c) => `${DATES[c]} as ${c}`)].join(', ');
    const { rows: staged } = await staging.query<Record<string, string>>(`select ${select} from staging.${t} where load_id = $1`, [loadId]);
    facts.set(loadId, await loadFacts(staging, loadId, staged.map(({ sref, ...dates }) => ({ sref: sref as string, dates })), (ref) => ref.slice(ref.indexOf(':') + 1)));
  }
  const records: ReceivedRecord[] = rows.map((r: CatalogRow) => ({
    loadId: `${workflowId(r.window)}/${r.table}`, qref: r.key, sref: r.key, key: `${r.table}:${r.key}`, role: r.role, family: r.family, kind: r.kind,
    expect: r.expect, reason: r.reason, ...(r.date && r.dateColumn ? { dates: { [r.dateColumn]: r.date } } : {}),
  }));
  for (let g = 1; g <= (o.wideRows ?? 0); g++) {
    const key = `${o.tag}-wide${g}`;
    records.push({ loadId: `${workflowId('wide')}/products`, qref: key, sref: key, key, role: 'bad', family: '1 MB field', kind: 'products.product_name=1 MB, all in one chunk', expect: 'load', reason: /product_name/ });
  }
  reconcile(report, records, facts, new Set());
  report.seconds = seconds(began);
  return {
    report,
    async cleanUp() {
      const loadIds = runs.map(({ w, t }) => `${workflowId(w)}/${t}`);
      for (const t of CATALOG_TABLES) await staging.query(`delete from staging.${t} where load_id = any($1)`, [loadIds]);
      await dropLoads(staging, env.deps.s3, env.deps.bucket, loadIds);
      for (const zone of ['raw', 'quarantine']) {
        for (const t of CATALOG_TABLES) for (const dt of [eraDay, wide, '9999-12-31']) await deletePrefix(env.deps.s3, env.deps.bucket, `${zone}/${t}/dt=${dt}/${safeName(`fuzz-catalog/${o.tag}`)}`);
      }
      await owner.query(`drop schema if exists ${schema} cascade`);
      await Promise.allSettled([owner.end(), reader.end()]);
    },
  };
}
