/**
 * The migrator on a scratch database of its own: versioned files once each and in one sequence,
 * code files re-applied (views dropped and recreated, grants included) whenever one changed.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { migrate } from '../../lib/migrate';

describe('etl db migrate (real PostgreSQL, a scratch database)', () => {
  const config = loadConfig(process.env);
  const db = `migrate_${randomUUID().slice(0, 8)}`;
  const url = config.PG_ADMIN_URL.replace(/\/[^/?]+(\?|$)/, `/${db}$1`);
  const dir = mkdtempSync(join(tmpdir(), 'etl-migrate-'));
  const write = (path: string, sql: string) => {
    mkdirSync(join(dir, 'shop', path, '..'), { recursive: true });
    writeFileSync(join(dir, 'shop', path), sql);
  };
  const admin = async <T extends object>(sql: string, target = config.PG_ADMIN_URL): Promise<T[]> => {
    const c = new Client({ connectionString: target });
    await c.connect();
    try {
      return (await c.query<T>(sql)).rows;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    await admin(`create database ${db}`);
    write('001_items.sql', 'create table items (id int primary key, price numeric not null);');
    write('code/010_views.sql', 'create or replace view priced as select id, price from items;\ngrant select on priced to public;');
  });
  afterAll(async () => {
    await admin(`drop database if exists ${db} with (force)`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies versioned files once and code files only when they changed', async () => {
    expect(await migrate('shop', url, dir)).toMatchObject({ applied: ['001_items.sql'], code: 'applied' });
    expect(await migrate('shop', url, dir)).toMatchObject({ applied: [], alreadyApplied: 1, code: 'unchanged' });
  });

  it('re-creates a view whose columns changed, with its grant', async () => {
    write('code/010_views.sql', 'create or replace view priced as select id, price * 2 as doubled, price from items;\ngrant select on priced to public;');
    expect(await migrate('shop', url, dir)).toMatchObject({ code: 'applied' });
    const cols = await admin<{ column_name: string }>(`select column_name from information_schema.columns where table_name = 'priced' order by ordinal_position`, url);
    expect(cols.map((c) => c.column_name)).toEqual(['id', 'doubled', 'price']);
    const grants = await admin<{ grantee: string }>(`select grantee from information_schema.role_table_grants where table_name = 'priced' and grantee = 'PUBLIC'`, url);
    expect(grants).toHaveLength(1);
  });

  it('refuses a migration numbered below one already applied, and an edited one', async () => {
    write('003_more.sql', 'alter table items add column name text;');
    expect(await migrate('shop', url, dir)).toMatchObject({ applied: ['003_more.sql'] });
    write('002_late.sql', 'select 1;');
    await expect(migrate('shop', url, dir)).rejects.toThrow(/002_late\.sql is numbered below 003/);
    rmSync(join(dir, 'shop', '002_late.sql'));
    write('001_items.sql', 'create table items (id bigint primary key);');
    await expect(migrate('shop', url, dir)).rejects.toThrow(/001_items\.sql changed after it was applied/);
  });

  it('accepts a rewritten file whose old text superseded.txt lists, and records the new text', async () => {
    const old = createHash('sha256').update('create table items (id int primary key, price numeric not null);').digest('hex');
    write('001_items.sql', '-- items: see 003.\ncreate table items (id int primary key, price numeric not null);');
    write('superseded.txt', `# rewritten\n001_items.sql ${old}\n`);
    expect(await migrate('shop', url, dir)).toMatchObject({ applied: [], alreadyApplied: 2 });
    write('superseded.txt', '');
    expect(await migrate('shop', url, dir)).toMatchObject({ applied: [], alreadyApplied: 2 });
  });
});
