/**
 * Two kinds of SQL per database (sql/<series>/):
 * - NNN_name.sql: versioned migrations for tables, indexes and grants on them. Each runs once, in
 *   its own transaction, and is recorded with its checksum; a file edited after it was applied is an
 *   error (add a new file instead), and so is a new file numbered below one already applied (one
 *   sequence: it would run in a different order on a fresh database than on this one).
 * - code/NNN_name.sql: functions and views, each file holding the current definition of what it
 *   defines (Flyway's repeatable migrations). Whenever any code file changed, all are re-applied in
 *   name order in one transaction, the views they define dropped first (so a view may change its
 *   columns); a code file re-grants what it recreates.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

export type Series = 'staging' | 'analytics' | 'shop';
export const SQL_DIR = join(__dirname, '..', 'sql');

export interface MigrationFile { version: string; name: string; sql: string; checksum: string }
export interface MigrateOutput { series: Series; applied: string[]; alreadyApplied: number; code: 'applied' | 'unchanged' | 'none' }

/**
 * sql/<series>/superseded.txt: `<file> <sha256>` lines, old texts of versioned files that were
 * rewritten once without changing a migrated database's end state (their functions and views moved
 * to code/). A database that applied such an old text is accepted, and its record updated.
 */
export function readSuperseded(series: Series, dir = SQL_DIR): Set<string> {
  const path = join(dir, series, 'superseded.txt');
  if (!existsSync(path)) return new Set();
  return new Set(readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/\s+/, ' ')));
}

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

/** The repeatable code files of a series (none when it has no code/ folder). */
export function readCode(series: Series, dir = SQL_DIR): MigrationFile[] {
  const folder = join(dir, series, 'code');
  if (!existsSync(folder)) return [];
  return readdirSync(folder).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort().map((file) => {
    const sql = readFileSync(join(folder, file), 'utf8');
    return { version: file.slice(0, 3), name: file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

/** Views that code files define (`create or replace view <name>`), in definition order. */
export function codeViews(code: readonly MigrationFile[]): string[] {
  return code.flatMap((f) => [...f.sql.matchAll(/create\s+or\s+replace\s+view\s+([a-z_][a-z0-9_.]*)/gi)].map((m) => (m[1] as string).toLowerCase()));
}

async function applyCode(client: Client, series: Series, code: readonly MigrationFile[]): Promise<MigrateOutput['code']> {
  if (code.length === 0) return 'none';
  await client.query(`create table if not exists public.schema_code (
    name text primary key, checksum text not null, applied_at timestamptz not null default now())`);
  const { rows } = await client.query<{ name: string; checksum: string }>('select name, checksum from public.schema_code order by name');
  const same = rows.length === code.length && rows.every((r, i) => r.name === code[i]?.name && r.checksum === code[i]?.checksum);
  if (same) return 'unchanged';
  let current = '';
  try {
    await client.query('begin');
    for (const view of codeViews(code).reverse()) await client.query(`drop view if exists ${view} cascade`);
    for (const f of code) {
      current = f.name;
      await client.query(f.sql);
    }
    await client.query('delete from public.schema_code');
    await client.query('insert into public.schema_code (name, checksum) select * from unnest($1::text[], $2::text[])', [code.map((f) => f.name), code.map((f) => f.checksum)]);
    await client.query('commit');
    return 'applied';
  } catch (err) {
    await client.query('rollback');
    throw new Error(`sql/${series}/code/${current} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
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
    const highest = [...done.keys()].sort().pop() ?? '';
    const early = files.find((f) => !done.has(f.version) && f.version < highest);
    if (early) throw new Error(`sql/${series}/${early.name} is numbered below ${highest}, which this database has applied already: renumber it after the last migration, so every database runs them in one order.`);
    const superseded = readSuperseded(series, dir);
    for (const f of files) {
      const prior = done.get(f.version);
      if (prior && prior.checksum !== f.checksum && superseded.has(`${f.name} ${prior.checksum}`)) {
        await client.query('update public.schema_migrations set checksum = $2, name = $3 where version = $1', [f.version, f.checksum, f.name]);
        continue;
      }
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
    const code = await applyCode(client, series, readCode(series, dir));
    return { series, applied, alreadyApplied: files.length - applied.length, code };
  } finally {
    await client.end();
  }
}
