/**
 * Extract + dedup + clean: streams one source's window from staging into the analytics work layer
 * (pseudonymising user ids on the way), quarantines rows that fail the transform's rules, merges
 * the rest on their natural key (a row seen before is a duplicate, however late it arrives) and
 * says which order/event dates the rows affect. Re-running it changes nothing but the counts.
 */
import { createHash } from 'node:crypto';
import { activityLog, heartbeat as beat } from '../common/heartbeat';
import { analyzeTables, outdatedSince, tablesToAnalyze, underestimatedDates, writeMark } from '../common/statistics';
import type { Pool, PoolClient } from 'pg';
import type { S3Client } from '@aws-sdk/client-s3';
import { transferRows } from '../../lib/copy-transfer';
import { lakeKey, safeName, utcDate } from '../../lib/lake';
import { pseudonym } from '../../lib/pseudonym';
import { putObject } from '../../lib/s3';
import type { LoadSummary } from '../../contract/pipeline';
import { quarantine } from '../common/loads';
import { TRANSFORM_SPECS, type TransformSourceSpec, type TransformSource } from './sources';
import { afterMerge } from './dimensions';

/** Late events and order updates up to this long after their hour are still picked up by it. */
export const LOOKBACK_MS = 2 * 60 * 60_000;

export interface ExtractDeps { staging: Pool; analytics: Pool; s3: S3Client; bucket: string; pseudonymKey: string }

/**
 * One source's share of a transform partition; loadId is `transform/<hour>/extract/<source>`.
 * changedOnly (scheduled runs): the dates to rebuild are those of rows this extract merged (new or
 * corrected), plus every date still marked pending by an earlier run; without it (backfills, a
 * deliberate recompute), every date the window's rows touch.
 */
export interface ExtractInput { source: TransformSource; partitionStart: string; partitionEnd: string; loadId: string; changedOnly?: boolean }
/** dates: this extract's own; pending: dates earlier runs changed and left unbuilt (absent before pending marks). */
export interface ExtractOutput {
  load: LoadSummary;
  dates: string[];
  pending?: string[];
  /** The window's staging rows were the same as at its last extract (changedOnly): nothing was copied. */
  unchanged?: boolean;
}


interface Rejected { ref: string; reason: string; raw: string }

export async function extractSource(deps: ExtractDeps, input: ExtractInput): Promise<ExtractOutput> {
  const spec: TransformSourceSpec = TRANSFORM_SPECS[input.source];
  const from = new Date(Date.parse(input.partitionStart) - LOOKBACK_MS).toISOString();
  const to = new Date(input.partitionEnd).toISOString();
  const select = spec.select(from, to, !input.changedOnly);
  const src = await deps.staging.connect();
  const dst = await deps.analytics.connect().catch((err: unknown) => {
    src.release();
    throw err;
  });
  let rejected: Rejected[] = [];
  let out: ExtractOutput;
  let fingerprint: string | undefined;
  let failed: Error | undefined;
  let srcLost: Error | undefined;
  let outdated: string[] = [];
  try {
    await dst.query('begin');
    const mark = await writeMark(dst, [spec.table]);
    await src.query('begin isolation level repeatable read read only');
    // The window's content, in the snapshot the copy reads: unchanged since the last extract of
    // this window (same rows, same code, same key) means nothing to merge, so skip the copy.
    // A backfill always copies, so it neither needs nor records one. A window never extracted
    // before (every scheduled hour's first run) has nothing to compare with: its rows are hashed
    // after the copy, in the same snapshot, while the analytics side merges them (`later`).
    const before = input.changedOnly ? await lastExtract(dst, input.source, from, to) : undefined;
    const code = input.changedOnly ? await codeHash(dst, select, spec, deps.pseudonymKey) : undefined;
    fingerprint = before && code ? await windowFingerprint(src, select, code) : undefined;
    if (before && before.fingerprint === fingerprint) {
      await src.query('commit');
      const received = before.received;
      const summary = { loadId: input.loadId, source: input.source, received, loaded: 0, quarantined: before.quarantined, duplicates: received - before.quarantined };
      await recordLoad(dst, input, summary);
      const marks = spec.dates ? await pendingMarks(dst, input.loadId) : { own: [], others: [] };
      await dst.query('commit');
      return { load: summary, dates: marks.own, pending: marks.others, unchanged: true };
    }
    // CTAS copies no NOT NULL: a row with a missing value must arrive, to be quarantined.
    await dst.query(`create temp table _in on commit drop as select ${spec.columns.join(', ')} from ${spec.table} with no data`);
    const userIdx = spec.userColumn ? spec.columns.indexOf(spec.userColumn) : -1;
    // transferRows remembers each id's pseudonym for the window (lib/copy-transfer.ts).
    const rewrite = userIdx >= 0 ? { index: userIdx, f: (id: string) => pseudonym(id, deps.pseudonymKey) } : undefined;
    await transferRows(src, select, dst, '_in', spec.columns, rewrite);
    // A first extract's fingerprint, hashed on src in the copy's snapshot (still open) while dst
    // merges. Without it the next run of this window copies again: a failure is only a warning,
    // said once, after the commit below (a lost connection fails the hash and the commit alike).
    // After a failure of the extract itself, src was closed under it (finally): nothing to say.
    const later = code && !fingerprint
      ? windowFingerprint(src, select, code).then((f) => ({ f, error: undefined }), (e: unknown) => ({ f: undefined, error: e instanceof Error ? e : new Error(String(e)) }))
      : undefined;
    if (!later) await src.query('commit');
    beat({ source: input.source, stage: 'copied' });
    const received = await count(dst, 'select count(*) from _in');
    rejected = await findRejected(dst, spec);
    const { loaded, outdated: grown } = await merge(dst, spec);
    // Dimensions and the current stock; a product's new category or a customer's new country
    // relabels the dates of its facts (the dashboard's segments), rebuilt like any changed date.
    const relabelled = await afterMerge(dst, input.source, loaded);
    const duplicates = received - rejected.length - loaded;
    const touched = spec.dates ? input.changedOnly ? spec.dates.replace(/\b_in\b/g, '_changed') : spec.dates : undefined;
    const dates = touched ? (await dst.query<{ d: string }>(`select to_char(x, 'YYYY-MM-DD') as d from (${touched}) t(x) where x is not null`)).rows.map((r) => r.d) : [];
    dates.push(...relabelled.filter((d) => !dates.includes(d)));
    // Marks and others' pending dates are a scheduled run's (changedOnly): a backfill recomputes
    // every date of its window whatever it merged, so a failed one is simply run again, and a
    // long one's dates do not spill into every hourly run meanwhile.
    if (input.changedOnly && dates.length > 0) await dst.query('insert into work.pending_dates (date, load_id) select unnest($1::date[]), $2', [dates, input.loadId]);
    // Dates an earlier run changed but did not finish rebuilding (it failed, or was cancelled).
    const marks = spec.dates && input.changedOnly ? await pendingMarks(dst, input.loadId) : { own: [], others: [] };
    dates.push(...marks.own);
    const summary = { loadId: input.loadId, source: input.source, received, loaded, quarantined: rejected.length, duplicates };
    await recordLoad(dst, input, summary);
    // Before the dates' locks below, which hold up those dates' loads until the commit.
    outdated = await tablesToAnalyze(dst, async () => {
      const past = [...await outdatedSince(dst, mark), ...await grown()];
      return spec.dateColumn && loaded > 0 && !past.length ? underestimatedDates(dst, [{ table: spec.table, column: spec.dateColumn }], [...new Set(dates)]) : past;
    }, (m) => activityLog().warn(`extract of ${spec.table}: ${m}`));
    // The rows merged for a date become visible only while no load of that date runs: a date's
    // load (loadDate) holds its lock exclusively from its facts to its data checks, which must see
    // the same work rows (revenue_reconciles recounts them), so the commit waits for it to finish.
    if (spec.dates && loaded > 0) {
      const changed = input.changedOnly ? dates : (await dst.query<{ d: string }>(`select to_char(x, 'YYYY-MM-DD') as d from (${spec.dates.replace(/\b_in\b/g, '_changed')}) t(x) where x is not null`)).rows.map((r) => r.d);
      await dst.query(`select pg_advisory_xact_lock_shared(hashtext('transform-date:' || d)) from (select distinct unnest($1::text[]) as d order by 1) t`, [changed]);
    }
    await dst.query('commit');
    if (later) {
      const hashed = await later;
      fingerprint = hashed.f;
      // The rows are merged and committed: a staging connection lost by now costs the fingerprint
      // (the window's next run copies again), not the extract.
      await src.query('commit').catch((e: unknown) => {
        srcLost = e instanceof Error ? e : new Error(String(e));
        fingerprint = undefined;
      });
      if (srcLost) activityLog().warn(`the staging side of ${spec.table}'s extract failed after its merge committed (its next run copies again): ${srcLost.message}`);
      else if (hashed.error) activityLog().warn(`fingerprint of ${spec.table}'s window failed (its next run copies again): ${hashed.error.message}`);
    }
    const own = [...new Set(dates)].sort();
    out = { load: summary, dates: own, pending: [...new Set(marks.others)].filter((d) => !own.includes(d)).sort() };
  } catch (err) {
    failed = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    // After a failure the connections may be mid-COPY, waiting for an end the server will never
    // send (PostgreSQL killed during the transfer: a rollback queued behind the COPY hung forever,
    // found by `npm run chaos:pipelines`). So they are not asked for a rollback but closed, which
    // aborts both transactions; the pool opens new ones.
    src.release(failed ?? srcLost);
    dst.release(failed);
  }
  // The dates' loads read these rows next: they plan with statistics that have seen them (statistics.ts).
  await analyzeTables(deps.analytics, outdated)
    .catch((e: unknown) => activityLog().warn(`analyze of ${spec.table} after the extract failed (autovacuum will do it later): ${e instanceof Error ? e.message : String(e)}`));
  await keepRejected(deps, input, rejected);
  // Only now, with the rejected rows kept: a retry after a failed quarantine write must not skip.
  if (fingerprint) {
    await deps.analytics.query(
      `insert into work.extract_fingerprints (source, window_from, window_to, fingerprint, received, quarantined) values ($1, $2, $3, $4, $5, $6)
       on conflict (source, window_from, window_to) do update set fingerprint = $4, received = $5, quarantined = $6, extracted_at = now()`,
      [input.source, from, to, fingerprint, out.load.received, out.load.quarantined],
    );
  }
  return out;
}

/**
 * count and a sum of 64-bit row hashes of the window's rows, with a hash of everything else the
 * work layer's rows depend on: the select, the cleaning and quarantine rules, the pseudonym key.
 * Any row added, removed or changed in place changes it (but for a hash collision of 2^-64).
 * The row hash is `hash_record_extended` (each column's own hash function), not a hash of the row's
 * text: formatting every timestamp and number as text made a busy hour's event window take 0.66–1.07 s
 * in psql against 0.37 s. It combines a row's columns linearly (31 × hash + next, modulo 2^64), so
 * in a sum of it two rows trading a value change nothing but the modulo's carries: two rows of two
 * text columns trading one kept the sum (psql). Hashed once more (`hashint8extended`), each row
 * counts as a whole (0.29–0.34 s for that busy hour, psql). A column's value is what counts, so a
 * numeric's scale alone (1.0 against 1.00, in a column without a fixed scale) does not change it.
 */
export const ROW_HASH_SUM = 'sum(hashint8extended(hash_record_extended(t, 0), 0))';

async function windowFingerprint(src: PoolClient, select: string, code: string): Promise<string> {
  const { rows } = await src.query<{ n: string; h: string | null }>(`select count(*)::text as n, ${ROW_HASH_SUM}::text as h from (${select}) t`);
  return `${rows[0]?.n ?? 0}:${rows[0]?.h ?? 0}:${code}`;
}

/** The fingerprint's hash of everything but the rows: the extract's SQL and rules, the analytics code, the key. */
async function codeHash(dst: PoolClient, select: string, spec: TransformSourceSpec, pseudonymKey: string): Promise<string> {
  // The analytics code the database runs (lib/migrate.ts records each file's checksum as applied).
  const deployed = await dst.query<{ v: string | null }>(`select string_agg(name || ':' || checksum, ',' order by name) as v from public.schema_code`);
  return createHash('sha256').update(JSON.stringify([select, spec.columns, spec.clean, spec.quarantine, spec.key, spec.upsert, spec.dates, spec.partition, deployed.rows[0]?.v ?? '']))
    .update(pseudonymKey).digest('hex').slice(0, 16);
}

async function lastExtract(dst: PoolClient, source: string, from: string, to: string): Promise<{ fingerprint: string; received: number; quarantined: number } | undefined> {
  const { rows } = await dst.query<{ fingerprint: string; received: number; quarantined: number }>(
    'select fingerprint, received, quarantined from work.extract_fingerprints where source = $1 and window_from = $2 and window_to = $3', [source, from, to]);
  return rows[0];
}

/** Pending date marks: this load's own (a retried attempt's first commit) and other runs'. */
async function pendingMarks(dst: PoolClient, loadId: string): Promise<{ own: string[]; others: string[] }> {
  const { rows } = await dst.query<{ d: string; mine: boolean }>(
    `select to_char(date, 'YYYY-MM-DD') as d, bool_or(load_id = $1) as mine from work.pending_dates group by date`, [loadId]);
  return { own: rows.filter((m) => m.mine).map((m) => m.d), others: rows.filter((m) => !m.mine).map((m) => m.d) };
}

async function recordLoad(dst: PoolClient, input: ExtractInput, l: LoadSummary): Promise<void> {
  await dst.query(
    `insert into work.loads (load_id, source, partition_start, partition_end, received, loaded, quarantined, duplicates)
     values ($1, $2, $3, $4, $5, $6, $7, $8)
     on conflict (load_id) do update set received = $5, loaded = $6, quarantined = $7, duplicates = $8, finished_at = now()`,
    [input.loadId, input.source, input.partitionStart, input.partitionEnd, l.received, l.loaded, l.quarantined, l.duplicates],
  );
}

async function count(client: PoolClient, sql: string): Promise<number> {
  const { rows } = await client.query<{ count: string }>(sql);
  return Number(rows[0]?.count ?? 0);
}

/** Any quarantine rule holds (SQL over `_in`); exported for bench/work-merge.ts. */
export const failsAny = (spec: TransformSourceSpec) => (spec.quarantine.length ? spec.quarantine.map((q) => `coalesce((${q.when}), false)`).join(' or ') : 'false');

async function findRejected(client: PoolClient, spec: TransformSourceSpec): Promise<Rejected[]> {
  if (spec.quarantine.length === 0) return [];
  const reason = `case ${spec.quarantine.map((q, i) => `when coalesce((${q.when}), false) then $${i + 1}`).join(' ')} end`;
  const { rows } = await client.query<Rejected>(
    `select ${spec.ref} as ref, ${reason} as reason, row_to_json(_in)::text as raw from _in where ${failsAny(spec)}`,
    spec.quarantine.map((q) => q.reason),
  );
  return rows.map((r) => ({ ...r, ref: r.ref ?? '(no reference)' }));
}

/** The work table's columns as the merge fills them: the source's, then a partitioned table's date column. */
const mergedColumns = (spec: TransformSourceSpec) => [...spec.columns, ...(spec.partition ? [spec.partition.column] : [])];
/** What the merge inserts in each of those columns: SQL over `_in` (the cleaning, the date's expression). */
const mergedExprs = (spec: TransformSourceSpec) => [...spec.columns.map((c) => (spec.clean as Record<string, string>)[c] ?? c), ...(spec.partition ? [spec.partition.expr] : [])];

/**
 * The merge of _in into the work table, as two statements: `changed` creates _changed, `merge`
 * inserts (or, for an upsert source, corrects) the rows in the order of the table's key and keeps
 * in _changed the columns the source's dates are read from (all of them without `dates`).
 * `into` narrows it to the rows `where` selects (SQL over the rows read), inserted into `table`;
 * `from`: the rows are read from that table, cleaned and checked already (mergePartitioned's
 * `_fresh`); `fresh`: `table` is new and has no index yet, so nothing can conflict: one row per
 * key is kept (as ON CONFLICT would keep the first), and its rows still go in the key's order: the
 * date's load reads them in their stored order, and over a busy date's rows stored as they arrived
 * it ran about 1.5 s slower (infer_dimensions, load_facts, refresh_metrics and the checks,
 * statement log of a transform-compare run) than in key order, which costs 0.5 s.
 * Exported for bench/work-merge.ts.
 */
export function mergeStatements(spec: TransformSourceSpec, into: { table?: string; where?: string; fresh?: boolean; from?: string } = {}): { changed: string; merge: string } {
  const names = mergedColumns(spec);
  const exprs = into.from ? names : mergedExprs(spec);
  const cols = names.join(', ');
  const target = into.table ?? spec.table;
  const rows = [...(into.from ? [] : [`not (${failsAny(spec)})`]), ...(into.where ? [`(${into.where})`] : [])].join(' and ') || 'true';
  const keptColumns = spec.datesFrom ?? spec.columns;
  const kept = keptColumns.join(', ');
  const changed = `create temp table _changed on commit drop as select ${kept} from ${spec.table} with no data`;
  // A partition's key is its rows' identity across windows: cleaning it could make two rows one.
  if (spec.partition && spec.key.some((k) => k in spec.clean)) throw new Error(`${spec.table}: a partitioned work table's key columns are not cleaned`);
  if (!spec.upsert) {
    // By output position: a key column may be cleaned (inventory's warehouse). Then the other
    // columns: of two rows of one window whose keys meet after cleaning, the one kept depends on
    // content alone (a row stored by an earlier window stays: on conflict do nothing).
    const positions = names.map((_c, i) => i + 1);
    const byKey = spec.key.map((k) => names.indexOf(k) + 1);
    const order = [...byKey, ...positions.filter((p) => !byKey.includes(p))].join(', ');
    const distinct = into.fresh ? `distinct on (${byKey.map((p) => exprs[p - 1] as string).join(', ')}) ` : '';
    return {
      changed,
      merge: `with ins as (insert into ${target} (${cols}) select ${distinct}${exprs.join(', ')} from ${into.from ?? '_in'} where ${rows} order by ${order}${into.fresh ? '' : ' on conflict do nothing'} returning ${kept})
       insert into _changed select ${kept} from ins`,
    };
  }
  if (spec.partition) throw new Error(`${spec.table}: a partitioned work table is merged without upsert`);
  // A corrected row replaces the stored one; the same row again changes nothing (and counts as a duplicate).
  const { key } = spec;
  const rest = spec.columns.filter((c) => !key.includes(c));
  return {
    changed,
    merge: `with ins as (
       insert into ${target} as t (${cols})
       select distinct on (${key.join(', ')}) ${cols}
       from (select ${exprs.map((e, i) => `${e} as ${spec.columns[i] as string}`).join(', ')} from _in where ${rows}) x
       order by ${key.join(', ')}, ${spec.upsert.order}
       on conflict (${key.join(', ')}) do update set ${rest.map((c) => `${c} = excluded.${c}`).join(', ')}
       where (${rest.map((c) => `t.${c}`).join(', ')}) is distinct from (${rest.map((c) => `excluded.${c}`).join(', ')})
       returning ${keptColumns.map((c) => `t.${c}`).join(', ')})
     insert into _changed select ${kept} from ins`,
  };
}

/**
 * Merges _in into the work table; returns how many rows it inserted or corrected (now in _changed),
 * and how to find the partitions of a partitioned table it grew past autovacuum's threshold (to analyze).
 */
async function merge(client: PoolClient, spec: TransformSourceSpec): Promise<{ loaded: number; outdated: () => Promise<string[]> }> {
  const sql = mergeStatements(spec);
  await client.query(sql.changed);
  return spec.partition ? mergePartitioned(client, spec, spec.partition) : { loaded: (await client.query(sql.merge)).rowCount ?? 0, outdated: async () => [] };
}

/**
 * The merge into a work table partitioned by date (work.events, sql/analytics/073). A date the
 * table has no partition for gets one built from the window's rows of that date: inserted into a
 * table of their own, keyed after the insert, analyzed (the date's load reads it next) and
 * attached. A busy scale-10 hour's events took 3.6 s so against 6.5–7.0 s through the indexes of a
 * table holding every date (psql). The rows of dates that have their partition are merged as any
 * source's, in the key's order, ON CONFLICT DO NOTHING.
 * A date is built by one extract at a time: each takes the date's lock (the one
 * work.add_event_partitions takes), all of them in order before the first build, since an attach
 * holds its lock on the table until the commit; after the locks, dates another extract built
 * meanwhile are merged as known ones. A date whose rows were all quarantined gets no partition.
 * A window of many new dates (a backfill over a range) has its rows cleaned once into `_fresh`,
 * indexed by date, instead of reading the whole window once per date.
 * Each new date holds a few locks to the commit (its table, TOAST and key): a window of years of
 * new dates needs max_locks_per_transaction to match (docs/scaling.md).
 * `outdated` is read in the caller's statistics check (its savepoint): the known dates' partitions
 * this merge grows past autovacuum's threshold, analyzed after the commit (statistics.ts).
 */
async function mergePartitioned(client: PoolClient, spec: TransformSourceSpec, part: NonNullable<TransformSourceSpec['partition']>): Promise<{ loaded: number; outdated: () => Promise<string[]> }> {
  const found = (await client.query<{ d: string | null }>(`select to_char(x, 'YYYY-MM-DD') as d from (select distinct ${part.expr} as x from _in) t order by 1`)).rows.map((r) => r.d);
  // A row without its date cannot be placed: said, not dropped (the table's NOT NULL said it before).
  // Dates go into SQL below as literals: only plain ones (to_char drops an era, writes no infinity).
  const odd = found.find((d) => d === null || !/^\d{4}-\d{2}-\d{2}$/.test(d));
  if (odd !== undefined) throw new Error(`${spec.table}: a row of the window has ${odd === null ? `no ${part.column}` : `${part.column} ${odd}`}, which no partition can take (${part.expr})`);
  const dates = found as string[];
  const missing = async (ds: string[]) => (await client.query<{ d: string }>(`select to_char(d, 'YYYY-MM-DD') as d from ${part.missing}($1::date[]) d`, [ds])).rows.map((r) => r.d);
  const maybe = await missing(dates);
  if (maybe.length) await client.query(`select ${part.lock}($1::date[])`, [maybe]);
  // After the locks: dates another extract built meanwhile are known ones now.
  const fresh = maybe.length ? await missing(maybe) : [];
  const many = fresh.length > 2;
  if (many) {
    const names = mergedColumns(spec);
    await client.query(`create temp table _fresh on commit drop as select ${mergedExprs(spec).map((e, i) => `${e} as ${names[i] as string}`).join(', ')}
      from _in where not (${failsAny(spec)}) and ${part.expr} = any('{${fresh.join(',')}}'::date[])`);
    await client.query(`create index on _fresh (${part.column})`);
    await client.query('analyze _fresh');
  }
  let loaded = 0;
  for (const d of fresh) {
    const table = (await client.query<{ t: string }>(`select ${part.create}($1::date) as t`, [d])).rows[0]?.t as string;
    const rows = many ? { from: '_fresh', where: `${part.column} = '${d}'::date` } : { where: `${part.expr} = '${d}'::date` };
    const n = (await client.query(mergeStatements(spec, { table, fresh: true, ...rows }).merge)).rowCount ?? 0;
    if (n === 0) {
      await client.query(`drop table ${table}`);
      continue;
    }
    loaded += n;
    await client.query(`select ${part.attach}($1::date)`, [d]);
  }
  const known = dates.filter((d) => !fresh.includes(d));
  if (known.length === 0) return { loaded, outdated: async () => [] };
  // The known dates' partitions, by the catalog (whatever their names).
  const names = (await client.query<{ name: string }>(
    `select i.inhrelid::regclass::text as name from pg_inherits i where i.inhparent = $1::regclass
       and pg_get_expr((select relpartbound from pg_class where oid = i.inhrelid), i.inhrelid) = any(array(select format('FOR VALUES IN (%L)', d) from unnest($2::text[]) d))`,
    [spec.table, known])).rows.map((r) => r.name);
  const mark = await writeMark(client, names);
  loaded += (await client.query(mergeStatements(spec, { where: `${part.expr} = any('{${known.join(',')}}'::date[])` }).merge)).rowCount ?? 0;
  return { loaded, outdated: () => outdatedSince(client, mark) };
}

/** Rejected rows go where ingestion's do: etl.quarantine in staging, and the lake's quarantine zone. */
async function keepRejected(deps: ExtractDeps, input: ExtractInput, rows: Rejected[]): Promise<void> {
  if (rows.length === 0) return;
  const source = `transform_${input.source}`;
  const client = await deps.staging.connect();
  try {
    await quarantine(client, input.loadId, source, rows);
  } finally {
    client.release();
  }
  const body = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  await putObject(deps.s3, deps.bucket, lakeKey('quarantine', source, utcDate(input.partitionStart), `${safeName(input.loadId)}.jsonl`), body, 'application/x-ndjson');
}
