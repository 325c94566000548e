/**
 * Parquet from PostgreSQL through DuckDB (the writer chosen by bench/parquet-writers.ts, see
 * docs/transform.md): the query is COPYed out as CSV into a temp file, DuckDB reads it with the
 * exact column types (numeric stays DECIMAL, never a float), sorts them when asked, and writes one
 * snappy Parquet file (snappy, not zstd: every reader has it, hyparquet included).
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FieldDef, PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';

const OID: Record<number, string> = { 16: 'BOOLEAN', 20: 'BIGINT', 21: 'SMALLINT', 23: 'INTEGER', 25: 'VARCHAR', 1043: 'VARCHAR', 1082: 'DATE', 1114: 'TIMESTAMP', 1184: 'TIMESTAMPTZ', 701: 'DOUBLE' };

/** DuckDB type of a PostgreSQL result column. */
export function duckType(f: Pick<FieldDef, 'dataTypeID' | 'dataTypeModifier'>): string {
  if (f.dataTypeID === 1700) {
    if (f.dataTypeModifier < 4) return 'DECIMAL(38, 6)';
    const m = f.dataTypeModifier - 4;
    return `DECIMAL(${(m >> 16) & 0xffff}, ${m & 0xffff})`;
  }
  const t = OID[f.dataTypeID];
  if (!t) throw new Error(`no Parquet mapping for PostgreSQL type oid ${f.dataTypeID}; add it to lib/parquet.ts`);
  return t;
}

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** One query's rows COPYed out as CSV (csvToParquet's input) and their PostgreSQL column types. */
export interface CsvRows { csv: string; fields: FieldDef[] }

/**
 * COPYs the rows of `sql` (no parameters: COPY takes none) to the CSV file `csv`. `client` should
 * be in a transaction with timezone UTC so timestamps parse unambiguously.
 */
export async function copyToCsv(client: PoolClient, sql: string, csv: string): Promise<CsvRows> {
  const { fields } = await client.query(`select * from (${sql}) t limit 0`);
  await pipeline(client.query(copyTo(`copy (${sql}) to stdout with (format csv, header false)`)), createWriteStream(csv));
  return { csv, fields };
}

/**
 * Writes copyToCsv's rows to a local Parquet file, in the order of `orderBy` (output column names;
 * sorted by DuckDB, which compares text byte by byte, as PostgreSQL's C collation does); returns the
 * row count. Needs no database connection, so it can run while the next query is read.
 */
export async function csvToParquet({ csv, fields }: CsvRows, outPath: string, orderBy?: string): Promise<number> {
  const columns = `{${fields.map((f) => `${q(f.name)}: ${q(duckType(f))}`).join(', ')}}`;
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    await con.run(`set TimeZone = 'UTC'`);
    await con.run(
      `copy (select * from read_csv(${q(csv)}, header = false, columns = ${columns}, auto_detect = false, quote = '"', escape = '"', nullstr = '', allow_quoted_nulls = false)${orderBy ? ` order by ${orderBy}` : ''})
       to ${q(outPath)} (format parquet, compression snappy)`,
    );
    const r = await con.runAndReadAll(`select count(*)::integer as n from read_parquet(${q(outPath)})`);
    return Number(r.getRows()[0]?.[0] ?? 0);
  } finally {
    con.closeSync();
    db.closeSync();
  }
}
