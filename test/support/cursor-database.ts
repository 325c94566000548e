/**
 * A staging database of a test file's own, created empty and migrated like the shared one.
 * etl.cursors has one row per (pipeline, source) and only ever moves forward, so on the shared
 * database a test cannot tell whether its scheduled run moved the live cursor or another run
 * did. Here nothing but the test's own runs writes it.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { loadConfig } from '../../config';
import { migrate } from '../../lib/migrate';

export interface PrivateStaging {
  /** The environment to hand testEnv: STAGING_DATABASE_URL points at the private database. */
  env: Record<string, string | undefined>;
  drop(): Promise<void>;
}

async function asAdmin(url: string, sql: string): Promise<void> {
  const c = new Client({ connectionString: url, application_name: 'shop-etl:test-cursor-database' });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** `name` is snake_case; the database is `<name>_<random>`, owned by the staging role. */
export async function privateStagingDatabase(name: string, env: Record<string, string | undefined> = process.env): Promise<PrivateStaging> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name must be snake_case, got ${name}`);
  const config = loadConfig(env);
  const db = `${name}_${randomUUID().slice(0, 8)}`;
  const url = new URL(config.STAGING_DATABASE_URL);
  const owner = decodeURIComponent(url.username);
  url.pathname = `/${db}`;
  await asAdmin(config.PG_ADMIN_URL, `create database ${db} owner "${owner}" encoding 'UTF8' template template0`);
  await asAdmin(config.PG_ADMIN_URL, `revoke connect on database ${db} from public`);
  await migrate('staging', url.toString());
  return {
    env: { ...env, STAGING_DATABASE_URL: url.toString() },
    drop: () => asAdmin(config.PG_ADMIN_URL, `drop database if exists ${db} with (force)`),
  };
}
