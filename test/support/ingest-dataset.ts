/**
 * A generated dataset of the test's own: a random start date between 1985 and 2015, so its
 * timestamps (part of every staging key) collide with no other engineer's run on the shared
 * databases, and dates before anyone's real data, so a scheduled run never drags the shared live
 * cursors forward.
 */
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { generateDataset } from '../../shop/generator';
import type { Manifest } from '../../contract/manifest';

export interface TestDataset { dir: string; manifest: Manifest; start: string; tag: string; remove(): void }

export async function testDataset(o: { days: number; scale: number; seed?: number }): Promise<TestDataset> {
  const day = Date.UTC(1985, 0, 1) + randomInt(0, 30 * 365) * 86_400_000;
  const start = new Date(day).toISOString().slice(0, 10);
  const dir = mkdtempSync(join(tmpdir(), 'ingest-'));
  const { manifest } = await generateDataset({ seed: o.seed ?? 11, start, days: o.days, scale: o.scale, dirt: 'default', out: dir });
  return { dir, manifest, start, tag: start.replace(/-/g, ''), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** md5 of every column of every row `sql` returns, ordered by `orderBy` (columns of its result). */
export async function checksum(pool: Pool, sql: string, orderBy: string, params: unknown[]): Promise<{ rows: number; md5: string }> {
  const { rows } = await pool.query<{ rows: string; md5: string | null }>(
    `select count(*)::text as rows, md5(coalesce(string_agg(t::text, E'\\n' order by ${orderBy}), '')) as md5 from (${sql}) t`,
    params,
  );
  return { rows: Number(rows[0]?.rows ?? 0), md5: rows[0]?.md5 ?? '' };
}
