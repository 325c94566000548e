/**
 * The transform extract's merge of an events window into the work layer (activities/transform/extract.ts,
 * `mergeStatements`), on a table shaped like work.events (its columns, key and date check; one table,
 * as a date's partition is, though these rows span three dates: since sql/analytics/073 a window's
 * rows of a date that already has its partition are merged so),
 * logged like it, empty at the start of each round, in the analytics database (work.norm_text):
 * - now: the rows inserted in the order of the key, _changed keeping the columns the dates are read from;
 * - before (stop 34's statement, written out here): the rows in the order the copy gave them, every
 *   column returned into _changed.
 * The events are --events synthetic rows over three days (ids `bench-E<n>` in random order: the
 * old statement's worst case; the generator's ids arrive nearly in key order),
 * staged once. Each round truncates the table, checkpoints (as the admin), and runs each way in a transaction it
 * rolls back; rounds alternate which way goes first. Prints the medians, their ratio, and checks that
 * both ways inserted every row, left the same rows in the table (a sum of row hashes) and kept the
 * same dates in _changed as the staged rows have.
 *   npx tsx bench/work-merge.ts --events 931000 --rounds 3
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../config';
import { failsAny, mergeStatements, ROW_HASH_SUM } from '../activities/transform/extract';
import { TRANSFORM_SPECS, type TransformSourceSpec } from '../activities/transform/sources';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const TABLE = 'bench_merge.events';

/**
 * Stop 34's statement for a source without upsert: no order, every column kept. The table's date
 * column (a plain column since sql/analytics/073) is filled as the merge fills it now.
 */
function before(spec: TransformSourceSpec): { changed: string; merge: string } {
  const exprs = [...spec.columns.map((c) => (spec.clean as Record<string, string>)[c] ?? c), ...(spec.partition ? [spec.partition.expr] : [])];
  const cols = spec.columns.join(', ');
  const into = [...spec.columns, ...(spec.partition ? [spec.partition.column] : [])].join(', ');
  return {
    changed: `create temp table _changed on commit drop as select ${cols} from ${spec.table} with no data`,
    merge: `with ins as (insert into ${spec.table} (${into}) select ${exprs.join(', ')} from _in where not (${failsAny(spec)}) on conflict do nothing returning ${cols})
       insert into _changed select ${cols} from ins`,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { events: { type: 'string', default: '931000' }, rounds: { type: 'string', default: '3' } } });
  const events = Number(values.events);
  const config = loadConfig();
  const db = new pg.Client({ connectionString: config.ANALYTICS_DATABASE_URL });
  await db.connect();
  // CHECKPOINT needs a superuser (or pg_checkpoint): the admin connection runs it.
  const admin = new pg.Client({ connectionString: config.PG_ADMIN_URL });
  await admin.connect();
  const spec: TransformSourceSpec = { ...TRANSFORM_SPECS.events, table: TABLE };
  const ways = { now: mergeStatements(spec), before: before(spec) };
  try {
    await db.query('drop schema if exists bench_merge cascade; create schema bench_merge');
    await db.query(`create table ${TABLE} (like work.events including all)`);
    // As the copy leaves a window in _in: the rows in arrival order, user ids already pseudonyms.
    await db.query(
      `create table bench_merge.src as
       select 'bench-E' || n as event_id, (array['view', 'view', 'view', 'add_to_cart', 'wishlist', 'order'])[1 + n % 6] as event_name,
              md5((n % 100000)::text) as customer_id, 'bench-S' || (n % 300000) as session_id, 'bench-P' || (n % 5000) as product_id,
              case when n % 6 = 5 then 'bench-O' || n end as order_id, (n % 50000 / 100.0)::numeric(14, 2) as price,
              timestamptz '2107-09-03 00:00:00+00' + (n::bigint * 2654435761) % (3 * 86400000) * interval '1 ms' as ts
       from generate_series(1, $1::int) n order by random()`, [events]);
    await db.query('analyze bench_merge.src');
    const { rows: [src] } = await db.query<{ dates: string }>(`select string_agg(distinct ((ts at time zone 'UTC')::date)::text, ',') as dates from bench_merge.src`);
    const times: Record<keyof typeof ways, number[]> = { now: [], before: [] };
    const results = new Set<string>();
    for (let round = 0; round < Number(values.rounds); round++) {
      const order = round % 2 === 0 ? (['now', 'before'] as const) : (['before', 'now'] as const);
      for (const way of order) {
        await db.query(`truncate ${TABLE}`);
        await admin.query('checkpoint');
        await db.query('begin');
        await db.query('create temp table _in on commit drop as select * from bench_merge.src');
        const t = performance.now();
        await db.query(ways[way].changed);
        const inserted = (await db.query(ways[way].merge)).rowCount ?? 0;
        times[way].push((performance.now() - t) / 1000);
        // What each way left: the table's rows (a sum of row hashes) and the dates _changed names.
        const { rows: [d] } = await db.query<{ dates: string; rows: string }>(
          `select (select string_agg(distinct ((ts at time zone 'UTC')::date)::text, ',') from _changed) as dates,
                  (select count(*) || ':' || ${ROW_HASH_SUM} from ${TABLE} t) as rows`);
        results.add(`${inserted}:${d?.dates ?? ''}:${d?.rows ?? ''}`);
        await db.query('rollback');
        console.log(JSON.stringify({ round: round + 1, way, seconds: +(times[way].at(-1) as number).toFixed(3), inserted }));
      }
    }
    const [only] = results;
    if (results.size !== 1 || !only?.startsWith(`${events}:${src?.dates ?? ''}:${events}:`)) throw new Error(`the two ways disagree: ${[...results].join(' | ')}`);
    const now = median(times.now);
    const was = median(times.before);
    console.log(JSON.stringify({ events, rounds: Number(values.rounds), medianSeconds: { now: +now.toFixed(3), before: +was.toFixed(3) }, nowVsBefore: +(now / was).toFixed(3) }));
  } finally {
    await db.query('rollback').catch(() => undefined);
    await db.query('drop schema if exists bench_merge cascade').catch(() => undefined);
    await db.end();
    await admin.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
