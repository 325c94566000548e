/**
 * Which Parquet writer should the curated lake use? Writes the same user_behavior-shaped rows with
 * parquetjs-lite, hyparquet-writer and DuckDB (COPY ... TO 'x.parquet' from a CSV, the way the
 * transform feeds it) in one run, checks each file's row count with DuckDB, and prints rows/s and
 * bytes as ratios against parquetjs-lite.  Run: npx tsx bench/parquet-writers.ts [rows=200000]
 * Every writer writes the same physical column types, snappy-compressed (checked with DuckDB's
 * parquet_schema): date INT32 DATE, text BYTE_ARRAY UTF8, price INT64 in cents. parquetjs-lite
 * cannot annotate that INT64 as DECIMAL(14,2) as the other two do: same bytes, one logical label less.
 */
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { DuckDBInstance } from '@duckdb/node-api';

interface Row { date: Date; event_id: string; event_name: string; cents: bigint | null; product_id: string; product_name: string; user_id: string; user_name: string; order_id: string | null }

function rows(n: number): Row[] {
  const names = ['view', 'add_to_cart', 'wishlist', 'order', 'return'];
  let x = 42;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, (_, i) => {
    const p = Math.floor(rnd() * 2000);
    const u = Math.floor(rnd() * 50_000);
    const name = names[Math.floor(rnd() ** 3 * 5)]!;
    return {
      date: new Date(Date.UTC(2024, 0, 1 + (i % 7))), event_id: `E${i}`, event_name: name, cents: rnd() < 0.1 ? null : BigInt(Math.floor(rnd() * 50_000)),
      product_id: `P${p}`, product_name: `Product ${p}`, user_id: (u * 2654435761).toString(16).padStart(32, '0').slice(-32), user_name: `U***`,
      order_id: name === 'order' ? `O${i}` : null,
    };
  });
}
const decimal = (c: bigint | null) => (c === null ? null : `${c / 100n}.${String(c % 100n).padStart(2, '0')}`);

async function parquetjsLite(data: Row[], path: string) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const parquet = require('parquetjs-lite');
  const c = { compression: 'SNAPPY' };
  const schema = new parquet.ParquetSchema({
    date: { type: 'DATE', ...c }, event_id: { type: 'UTF8', ...c }, event_name: { type: 'UTF8', ...c }, price: { type: 'INT64', optional: true, ...c }, // cents: no DECIMAL in parquetjs-lite
    product_id: { type: 'UTF8', ...c }, product_name: { type: 'UTF8', ...c }, user_id: { type: 'UTF8', ...c }, user_name: { type: 'UTF8', ...c }, order_id: { type: 'UTF8', optional: true, ...c },
  });
  const w = await parquet.ParquetWriter.openFile(schema, path, { useDataPageV2: false });
  for (const r of data) await w.appendRow({ ...r, price: r.cents ?? undefined, order_id: r.order_id ?? undefined, cents: undefined });
  await w.close();
}

async function hyparquetWriter(data: Row[], path: string) {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const str = (name: string, nullable = false) => ({ name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: nullable ? 'OPTIONAL' as const : 'REQUIRED' as const });
  const schema = [
    { name: 'root', num_children: 9 },
    { name: 'date', type: 'INT32' as const, converted_type: 'DATE' as const, repetition_type: 'REQUIRED' as const },
    str('event_id'), str('event_name'),
    { name: 'price', type: 'INT64' as const, converted_type: 'DECIMAL' as const, precision: 14, scale: 2, repetition_type: 'OPTIONAL' as const },
    str('product_id'), str('product_name'), str('user_id'), str('user_name'), str('order_id', true),
  ];
  const col = <K extends keyof Row>(k: K) => data.map((r) => r[k]);
  const buffer = parquetWriteBuffer({
    schema,
    codec: 'SNAPPY',
    columnData: [
      { name: 'date', data: col('date') }, { name: 'event_id', data: col('event_id') }, { name: 'event_name', data: col('event_name') },
      { name: 'price', data: col('cents') }, { name: 'product_id', data: col('product_id') }, { name: 'product_name', data: col('product_name') },
      { name: 'user_id', data: col('user_id') }, { name: 'user_name', data: col('user_name') }, { name: 'order_id', data: col('order_id') },
    ],
  });
  writeFileSync(path, new Uint8Array(buffer));
}

async function duckdb(data: Row[], path: string) {
  const csv = `${path}.csv`;
  const out = createWriteStream(csv);
  for (const r of data) {
    const line = [r.date.toISOString().slice(0, 10), r.event_id, r.event_name, decimal(r.cents) ?? '', r.product_id, r.product_name, r.user_id, r.user_name, r.order_id ?? ''].join(',') + '\n';
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  await con.run(`copy (select * from read_csv('${csv}', header = false, auto_detect = false, columns = {'date': 'DATE', 'event_id': 'VARCHAR', 'event_name': 'VARCHAR',
    'price': 'DECIMAL(14,2)', 'product_id': 'VARCHAR', 'product_name': 'VARCHAR', 'user_id': 'VARCHAR', 'user_name': 'VARCHAR', 'order_id': 'VARCHAR'}))
    to '${path}' (format parquet, compression snappy)`);
  con.closeSync();
  db.closeSync();
  rmSync(csv);
}

async function countRows(path: string): Promise<number> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const r = await con.runAndReadAll(`select count(*)::integer, sum(price::decimal(18,2))::varchar from read_parquet('${path}')`);
  con.closeSync();
  db.closeSync();
  return Number(r.getRows()[0]?.[0]);
}

/** Each column's physical type and annotation, as DuckDB reads them from the file's footer. */
async function columnTypes(path: string): Promise<{ physical: string; annotated: string }> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const r = await con.runAndReadAll(`select name, type, coalesce(converted_type, '') from parquet_schema('${path}') where type is not null order by name`);
  const codecs = await con.runAndReadAll(`select string_agg(distinct compression, '/') from parquet_metadata('${path}')`);
  con.closeSync();
  db.closeSync();
  const codec = String(codecs.getRows()[0]?.[0]);
  const cols = r.getRows().map(([name, type, converted]) => ({ name: String(name), type: String(type), converted: String(converted) }));
  return { physical: `${codec}: ${cols.map((c) => `${c.name} ${c.type}`).join(', ')}`, annotated: `${codec}: ${cols.map((c) => `${c.name} ${c.type}${c.converted ? ` ${c.converted}` : ''}`).join(', ')}` };
}

async function main() {
  const n = Number(process.argv[2] ?? 200_000);
  const data = rows(n);
  const dir = mkdtempSync(join(tmpdir(), 'bench-parquet-'));
  const writers: Array<[string, (d: Row[], p: string) => Promise<void>]> = [['parquetjs-lite', parquetjsLite], ['hyparquet-writer', hyparquetWriter], ['duckdb', duckdb]];
  const results: Array<{ writer: string; seconds: number; bytes: number; types: { physical: string; annotated: string } }> = [];
  for (const [name, write] of writers) {
    let best = Infinity;
    let bytes = 0;
    let types = { physical: '', annotated: '' };
    for (let run = 0; run < 2; run++) {
      const path = join(dir, `${name}-${run}.parquet`);
      const t = performance.now();
      await write(data, path);
      best = Math.min(best, (performance.now() - t) / 1000);
      bytes = statSync(path).size;
      if ((await countRows(path)) !== n) throw new Error(`${name} wrote the wrong number of rows`);
      types = await columnTypes(path);
    }
    results.push({ writer: name, seconds: best, bytes, types });
  }
  const base = results[0]!;
  const odd = results.find((r) => r.types.physical !== base.types.physical);
  if (odd) throw new Error(`not comparable: ${odd.writer} wrote ${odd.types.physical}, ${base.writer} ${base.types.physical}`);
  for (const r of results) console.log(`${r.writer}: ${r.types.annotated}`);
  console.log(`${n} rows, best of 2 runs each, snappy\n`);
  console.log('| writer | rows/s | bytes | speed vs parquetjs-lite | size vs parquetjs-lite |\n| --- | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    console.log(`| ${r.writer} | ${Math.round(n / r.seconds).toLocaleString('en-US')} | ${r.bytes.toLocaleString('en-US')} | ${(base.seconds / r.seconds).toFixed(2)}x | ${(r.bytes / base.bytes).toFixed(2)}x |`);
  }
  rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
