import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { makeS3 } from '../../lib/clients';
import { lakeKey } from '../../lib/lake';
import { lakeQuery } from '../../lib/lake-query';
import { deletePrefix, putObject } from '../../lib/s3';

// Rows per partition of a curated table of the test's own (a unique name, so no other test's
// objects are read): 25 rows in all, 4 of them on 2026-10-01, as in the demo of issue 9.
const PARTS: Record<string, number> = { '2026-10-01': 4, '2026-10-02': 6, '2026-10-03': 15 };

async function writeParts(s3: S3Client, bucket: string, table: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'etl-lake-query-test-'));
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    for (const [dt, n] of Object.entries(PARTS)) {
      const file = join(dir, `${dt}.parquet`);
      await con.run(`copy (select 'view' as event_name, i::integer as events from range(${n}) r(i)) to '${file}' (format parquet)`);
      await putObject(s3, bucket, lakeKey('curated', table, dt, 'part-00000.parquet'), await readFile(file));
    }
  } finally {
    con.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('etl lake query over S3 (real S3)', () => {
  const config = loadConfig();
  const s3 = makeS3(config);
  const bucket = config.S3_BUCKET;
  const t = `lq_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const query = (sql: string) => lakeQuery(s3, bucket, sql);

  // Where a forbidden statement would have written, were it let through.
  const out = join(tmpdir(), `etl-lake-query-${randomUUID()}.csv`);
  const other = join(tmpdir(), `etl-lake-query-${randomUUID()}.duckdb`);

  beforeAll(async () => writeParts(s3, bucket, t));
  afterAll(async () => {
    await deletePrefix(s3, bucket, `curated/${t}/`);
    await rm(out, { force: true });
    await rm(other, { force: true });
    s3.destroy();
  });

  it('gives the issue-9 queries the answers of a full read', async () => {
    const all = await query(`select count(*)::integer n from ${t}`);
    expect(all.rows).toEqual([{ n: 25 }]);
    expect(all.objectsRead).toBe(3);
    const filtered = await query(`select count(*) filter (where dt='2026-10-01')::integer d1, count(*)::integer n from ${t}`);
    expect(filtered.rows).toEqual([{ d1: 4, n: 25 }]);
    expect(filtered.objectsRead).toBe(3);
    const commented = await query(`select count(*)::integer n from ${t} -- dt='2026-10-01'`);
    expect(commented.rows).toEqual([{ n: 25 }]);
    expect(commented.objectsRead).toBe(3);
  });

  it('still reads fewer objects for a plain dt filter, with the same answer', async () => {
    const r = await query(`select count(*)::integer n from ${t} where dt = '2026-10-01'`);
    expect(r.rows).toEqual([{ n: 4 }]);
    expect(r).toMatchObject({ objectsRead: 1, objectsTotal: 3, tables: [t] });
    const range = await query(`select dt::varchar dt, count(*)::integer n from ${t} x where x.dt >= '2026-10-02' group by all order by dt`);
    expect(range.rows).toEqual([{ dt: '2026-10-02', n: 6 }, { dt: '2026-10-03', n: 15 }]);
    expect(range.objectsRead).toBe(2);
    // Every partition pruned: one object is still read for the columns, and no row comes back.
    const none = await query(`select event_name, count(*)::integer n from ${t} where dt > '2026-12-31' group by all`);
    expect(none).toMatchObject({ rows: [], columns: ['event_name', 'n'], objectsRead: 1 });
  });

  it.each([
    `select e.* from ${t}, read_csv('/proc/self/environ') e`,
    `select e.* from ${t}, read_text('/etc/passwd') e`,
    `select f.* from ${t}, glob('/etc/*') f`,
    `copy (select 1 from ${t}) to '${out}'`,
    `attach '${other}' as other; select count(*) from ${t}`,
    `install httpfs; select count(*) from ${t}`,
    `load httpfs; select count(*) from ${t}`,
    `set enable_external_access = true; select count(*) from ${t}`,
    `set allowed_directories = ['/']; select count(*) from ${t}`,
    `reset lock_configuration; select count(*) from ${t}`,
  ])('lets SQL read only the downloaded partitions, write nowhere and change no setting: %s', async (sql) => {
    await expect(query(sql)).rejects.toThrow(/Permission Error|disabled|locked/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(other)).toBe(false);
  });
});
