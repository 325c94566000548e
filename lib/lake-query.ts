/**
 * SQL over the curated lake, the way Athena does it: every curated/<table>/ is a table, dt its
 * Hive partition column. Only the objects of the partitions the query can need are downloaded
 * (see lake-dt-filter.ts), into a temp folder that DuckDB reads with hive_partitioning. DuckDB
 * cannot reach S3 itself here (no httpfs without internet), hence the download. The SQL is the
 * user's, so DuckDB is then locked to reading exactly those files (see lockDown).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { getObjectBytes, listObjects } from './s3';
import { dtFilterFromTree, parseSql, referencedTables } from './lake-dt-filter';

export interface LakeQueryResult {
  columns: string[];
  rows: Array<Record<string, unknown>>;
  tables: string[];
  objectsRead: number;
  objectsTotal: number;
}

const KEY = /^curated\/([a-z0-9_]+)\/dt=(\d{4}-\d{2}-\d{2})\/[^/]+\.parquet$/;
const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * From here on SQL can read the given files and nothing else: no other file (/proc/self/environ),
 * no write (COPY TO, ATTACH of a file), no extension, and no SET that would undo this.
 */
async function lockDown(con: DuckDBConnection, files: string[]): Promise<void> {
  // allowed_paths, not allowed_directories: a directory would also be writable.
  await con.run(`set allowed_paths = [${files.map(q).join(', ')}]`);
  await con.run('set autoinstall_known_extensions = false');
  await con.run('set autoload_known_extensions = false');
  await con.run('set enable_external_access = false');
  await con.run('set lock_configuration = true');
}

export async function lakeQuery(s3: S3Client, bucket: string, sql: string): Promise<LakeQueryResult> {
  const objects = (await listObjects(s3, bucket, 'curated/')).flatMap((o) => {
    const m = KEY.exec(o.key);
    return m ? [{ key: o.key, table: m[1]!, dt: m[2]! }] : [];
  });
  const all = [...new Set(objects.map((o) => o.table))].sort();
  const tree = await parseSql(sql);
  const tables = referencedTables(sql, all, tree);
  if (tables.length === 0) throw new Error(`the query names no curated table; the lake has: ${all.join(', ') || '(none)'}`);
  const keep = tables.length === 1 ? dtFilterFromTree(tree) : null;
  const candidates = objects.filter((o) => tables.includes(o.table));
  const chosen = candidates.filter((o) => !keep || keep(o.dt));
  const dir = await mkdtemp(join(tmpdir(), 'etl-lake-'));
  try {
    for (const o of chosen) {
      const path = join(dir, o.key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, await getObjectBytes(s3, bucket, o.key));
    }
    // A table whose partitions were all pruned still needs its columns: one file, no rows.
    const schemaOnly = new Map<string, string>();
    for (const t of tables.filter((t) => !chosen.some((o) => o.table === t))) {
      const sample = candidates.find((o) => o.table === t);
      if (!sample) continue;
      const path = join(dir, '_schema', sample.key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, await getObjectBytes(s3, bucket, sample.key));
      schemaOnly.set(t, path);
    }
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    try {
      await con.run(`set TimeZone = 'UTC'`);
      const files: string[] = [];
      for (const t of tables) {
        const schema = schemaOnly.get(t);
        const paths = schema ? [schema] : chosen.filter((o) => o.table === t).map((o) => join(dir, o.key));
        files.push(...paths);
        // The files by name, not a glob: allowed_paths then needs no directory listing.
        const where = schema ? ' where false' : '';
        await con.run(`create view "${t}" as select * from read_parquet([${paths.map(q).join(', ')}], hive_partitioning = true)${where}`);
      }
      await lockDown(con, files);
      const reader = await con.runAndReadAll(sql);
      return { columns: reader.columnNames(), rows: reader.getRowObjectsJson() as Array<Record<string, unknown>>, tables, objectsRead: chosen.length + schemaOnly.size, objectsTotal: candidates.length };
    } finally {
      con.closeSync();
      db.closeSync();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
