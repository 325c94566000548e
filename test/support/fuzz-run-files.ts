/**
 * Fuzzed purchase files through the real files activities: dropped under a prefix of the run's
 * own, listed and ingested one by one (two at a time), then every line found again in
 * staging.purchases (by source_line) or etl.quarantine (by `<key>:<line>`).
 */
import { purchaseLoadId, type PurchaseFileRef } from '../../activities/files';
import { createActivities } from '../../activities';
import { deletePrefix, getObjectText, putObject } from '../../lib/s3';
import { fuzzFiles, type FuzzFile } from './fuzz-files';
import { emptyReport, reconcile, type LoadFacts, type ReceivedRecord, type SourceReport } from './fuzz-ledger';
import { dropLoads, errorText, loadFacts, seconds, withDeadline, type FuzzEnv } from './fuzz-run';

export interface SourceRunOptions {
  seed: number;
  tag: string;
  bad: number;
  era: number;
  deadlineMs: number;
  /** Record kinds left out (known failures), matched against `<field>=<variant>`. */
  exclude?: RegExp;
  /** Files: bad records per file (default: a sixteenth of `bad`, 20 to 150). */
  perFile?: number;
  /** Catalog: this many products of 1 MB each in one window of their own (one keyset chunk). */
  wideRows?: number;
}

export async function fuzzFilesRun(env: FuzzEnv, o: SourceRunOptions): Promise<{ report: SourceReport; cleanUp(): Promise<void> }> {
  const began = performance.now();
  const report = emptyReport('files');
  const { staging, s3, bucket } = env.deps;
  const prefix = `test/fuzz/${o.tag}/drop/purchases/`;
  const files = fuzzFiles({ seed: o.seed, tag: o.tag, bad: o.bad, era: o.era, exclude: o.exclude, perFile: o.perFile });
  for (const f of files) {
    await putObject(s3, bucket, prefix + f.name, f.bytes);
    // Only the pipeline holds the bytes from here on: the peak RSS measured is then mostly its own.
    f.bytes = Buffer.alloc(0);
    for (const it of f.items) it.bytes = Buffer.alloc(0);
  }
  const acts = createActivities(env.deps);
  const listed = (await acts.listNewPurchaseFiles({ dropPrefix: prefix, maxFiles: 10_000 })).files;
  const byName = new Map(files.map((f) => [prefix + f.name, f]));
  const loadIds = listed.map(purchaseLoadId);
  const queue = [...listed];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const f = byName.get(file.key) as FuzzFile;
      const t = performance.now();
      try {
        const out = await withDeadline(`ingesting ${f.name}`, o.deadlineMs, acts.ingestPurchaseFile({ file }));
        report.scenarios.push({ name: `${f.shape}: ${f.name}`, seconds: seconds(t), outcome: out.load ? `received ${out.load.received}` : `vanished: ${out.vanished}`, ok: !!out.load });
      } catch (err) {
        const kinds = [...new Set(f.items.filter((i) => i.role === 'bad').map((i) => i.kind))];
        report.violations.push(`${f.name} (${f.shape}): the load failed: ${errorText(err)} (its bad records: ${kinds.slice(0, 12).join('; ')}${kinds.length > 12 ? '; …' : ''})`);
        report.scenarios.push({ name: `${f.shape}: ${f.name}`, seconds: seconds(t), outcome: errorText(err), ok: false });
      }
    }
  };
  await Promise.all([worker(), worker()]);
  if (listed.length !== files.length) report.violations.push(`listed ${listed.length} of the ${files.length} files dropped`);

  const records: ReceivedRecord[] = [];
  const facts = new Map<string, LoadFacts>();
  for (const file of listed) {
    const f = byName.get(file.key) as FuzzFile;
    const loadId = purchaseLoadId(file);
    if (f.wholeFile) {
      await checkWholeFile(env, report, file, f);
      continue;
    }
    const { rows } = await staging.query<{ line: number; order_date: string }>('select source_line line, order_date::text order_date from staging.purchases where load_id = $1', [loadId]);
    facts.set(loadId, await loadFacts(staging, loadId, rows.map((r) => ({ sref: String(r.line), dates: { OrderDate: r.order_date } })), (ref) => ref.slice(ref.lastIndexOf(':') + 1)));
    await checkLakeHalf(env, report, loadId);
    for (const it of f.items) {
      const where = String(it.line);
      records.push({ loadId, at: `${f.name}:${where}`, qref: where, sref: where, key: it.key, role: it.role, family: it.family, kind: it.kind, expect: it.expect, reason: it.reason, ...(it.date && it.field === 'OrderDate' ? { dates: { OrderDate: it.date } } : {}) });
    }
  }
  const { rows: keys } = await staging.query<{ order_id: string }>('select order_id from staging.purchases where load_id = any($1)', [loadIds]);
  reconcile(report, records, facts, new Set(keys.map((k) => k.order_id)));
  report.seconds = seconds(began);
  return {
    report,
    async cleanUp() {
      await staging.query('delete from staging.purchases where load_id = any($1)', [loadIds]);
      await staging.query('delete from etl.files where load_id = any($1)', [loadIds]);
      await dropLoads(staging, s3, bucket, loadIds);
      await deletePrefix(s3, bucket, `test/fuzz/${o.tag}/`);
    },
  };
}

/** The lake half of the quarantine holds the same lines as etl.quarantine. */
async function checkLakeHalf(env: FuzzEnv, report: SourceReport, loadId: string): Promise<void> {
  const { staging, s3, bucket } = env.deps;
  const { rows: [l] } = await staging.query<{ key: string | null; n: string }>(
    "select detail->>'quarantineKey' key, (select count(*) from etl.quarantine q where q.load_id = $1) n from etl.loads where load_id = $1", [loadId]);
  const lines = l?.key ? (await getObjectText(s3, bucket, l.key)).split('\n').filter(Boolean).length : 0;
  if (lines !== Number(l?.n ?? 0)) report.violations.push(`${loadId}: the lake quarantine object has ${lines} lines, etl.quarantine ${l?.n} rows`);
}

/** A header that cannot be mapped: every line counted quarantined, one etl.quarantine row naming the problem. */
async function checkWholeFile(env: FuzzEnv, report: SourceReport, file: PurchaseFileRef, f: FuzzFile): Promise<void> {
  const loadId = purchaseLoadId(file);
  const facts = await loadFacts(env.deps.staging, loadId, [], (r) => r);
  const n = f.items.length;
  const ok = facts.recorded?.received === n && facts.recorded.quarantined === n && facts.quarantined.length === 1 && (f.wholeFile as RegExp).test(facts.quarantined[0]?.reason ?? '');
  report.scenarios.push({ name: 'header: quarantined whole', seconds: 0, outcome: JSON.stringify({ ...facts.recorded, rows: facts.quarantined.length }), ok });
  if (!ok) report.violations.push(`${f.name}: expected ${n} lines quarantined whole with one etl.quarantine row, got ${JSON.stringify(facts)}`.slice(0, 400));
  report.totals.received += n;
  report.totals.quarantined += n;
  report.bad += n;
  report.badSent += n;
  report.loads++;
}
