/**
 * Numbered, append-only SQL migrations: sql/<series>/NNN_name.sql, one series per database.
 * Each file runs once, in its own transaction, and is recorded with its checksum; a file edited
 * after it was applied is an error (add a new file instead).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

export type Series = 'staging' | 'analytics' | 'shop';
export const SQL_DIR = join(__dirname, '..', 'sql');

export interface MigrationFile { version: string; name: string; sql: string; checksum: string }
export interface MigrateOutput { series: Series; applied: string[]; alreadyApplied: number }

export function readMigrations(series: Series, dir = SQL_DIR): MigrationFile[] {
  const files = readdirSync(join(dir, series)).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort();
  const seen = new Set<string>();
  return files.map((file) => {
    const version = file.slice(0, 3);
    if (seen.has(version)) throw new Error(`sql/${series}: two migrations share number ${version}; renumber ${file}`);
    seen.add(version);
    const sql = readFileSync(join(dir, series, file), 'utf8');
    return { version, name: file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

export async function migrate(series: Series, url: string, dir = SQL_DIR): Promise<MigrateOutput> {
  const files = readMigrations(series, dir);
  const client = new Client({ connectionString: url, application_name: 'shop-etl:migrate' });
  await client.connect();
  try {
    // One migrator at a time per database; the lock is released with the session.
    await client.query('select pg_advisory_lock(hashtext($1))', [`migrate:${series}`]);
    await client.query(`create table if not exists public.schema_migrations (
      version text primary key, name text not null, checksum text not null, applied_at timestamptz not null default now())`);
    const { rows } = await client.query<{ version: string; name: string; checksum: string }>('select version, name, checksum from public.schema_migrations');
    const done = new Map(rows.map((r) => [r.version, r]));
    const applied: string[] = [];
    for (const f of files) {
      const prior = done.get(f.version);
      if (prior) {
        if (prior.checksum !== f.checksum) {
          throw new Error(`sql/${series}/${f.name} changed after it was applied (was ${prior.name}). Migrations are append-only: revert the edit and add a new numbered file.`);
        }
        continue;
      }
      try {
        await client.query('begin');
        await client.query(f.sql);
        await client.query('insert into public.schema_migrations (version, name, checksum) values ($1, $2, $3)', [f.version, f.name, f.checksum]);
        await client.query('commit');
      } catch (err) {
        await client.query('rollback');
        throw new Error(`sql/${series}/${f.name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      applied.push(f.name);
    }
    return { series, applied, alreadyApplied: files.length - applied.length };
  } finally {
    await client.end();
  }
}
