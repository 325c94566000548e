/**
 * Databases of the test suite's own, as graphile/worker does it: the global setup migrates one
 * TEMPLATE per series (etl_test_tpl_staging, _analytics, _shop) and rebuilds it only when its SQL
 * changed; every integration test file then gets three copies of its own (CREATE DATABASE …
 * TEMPLATE takes a fraction of a second), dropped when the file ends. So a test sees only its own
 * rows, and never the user's staging, analytics or shop.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { Config } from '../../config';
import { migrate, readCode, readMigrations, readSuperseded, type Series } from '../../lib/migrate';
import { connectGrants, DATABASES, inDatabase } from '../../services/postgres-bootstrap';

const SERIES: readonly Series[] = ['staging', 'analytics', 'shop'];
const TEMPLATE_PREFIX = 'etl_test_tpl_';
/** Per-file databases: etl_test_f_<unix seconds, base 36>_<random>_<series>; the time lets a later run drop leftovers. */
const FILE_DB = /^etl_test_f_([0-9a-z]+)_[0-9a-f]+_(staging|analytics|shop)$/;
/** Templates are rebuilt while no file copies them (exclusive), copies share this lock. */
const LOCK = 'shop-etl:test-templates';
/** Bump when the way a template is built changes, so existing templates are rebuilt. */
const BUILD_VERSION = '1';

/** The URL variables that point at each series' database. */
const URL_KEYS = {
  staging: ['STAGING_DATABASE_URL'],
  analytics: ['ANALYTICS_DATABASE_URL'],
  shop: ['SHOP_DATABASE_URL', 'SHOP_OWNER_DATABASE_URL'],
} as const satisfies Record<Series, ReadonlyArray<keyof Config>>;
/** The URL that migrates each series (as the database's owner). */
const OWNER_URL = { staging: 'STAGING_DATABASE_URL', analytics: 'ANALYTICS_DATABASE_URL', shop: 'SHOP_OWNER_DATABASE_URL' } as const;

const withDatabase = (url: string, db: string) => {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
};

async function adminSession<T>(config: Config, fn: (admin: Client) => Promise<T>): Promise<T> {
  const admin = new Client({ connectionString: config.PG_ADMIN_URL, application_name: 'shop-etl:test-databases' });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/** What a template of the series is built from, as one hash: its SQL files and how it is built. */
export function templateChecksum(series: Series): string {
  const h = createHash('sha256').update(`${BUILD_VERSION}\n${JSON.stringify(DATABASES[series])}\n`);
  for (const f of [...readMigrations(series), ...readCode(series)]) h.update(`${f.name} ${f.checksum}\n`);
  for (const line of readSuperseded(series)) h.update(`superseded ${line}\n`);
  return h.digest('hex');
}

async function dropDatabase(admin: Client, db: string): Promise<void> {
  await admin.query(`alter database ${db} is_template false`).catch(() => undefined);
  await admin.query(`drop database if exists ${db} with (force)`);
}

/**
 * Ensures the three templates match the SQL of this checkout (the checksum is kept as the
 * database's comment); rebuilds those that don't. Returns what it did, per series.
 */
export async function ensureTemplates(config: Config): Promise<Record<Series, 'built' | 'current'>> {
  return adminSession(config, async (admin) => {
    await admin.query('select pg_advisory_lock(hashtext($1))', [LOCK]);
    const out = {} as Record<Series, 'built' | 'current'>;
    const { rows } = await admin.query<{ datname: string; comment: string | null }>(
      `select datname, shobj_description(oid, 'pg_database') as comment from pg_database where datname like $1`, [`${TEMPLATE_PREFIX}%`]);
    const comments = new Map(rows.map((r) => [r.datname, r.comment]));
    await Promise.all(SERIES.map(async (series) => {
      const db = `${TEMPLATE_PREFIX}${series}`;
      const checksum = templateChecksum(series);
      if (comments.get(db) === checksum) {
        out[series] = 'current';
        return;
      }
      await adminSession(config, async (own) => {
        await dropDatabase(own, db);
        await own.query(`create database ${db} owner ${DATABASES[series].owner} encoding 'UTF8' template template0`);
        for (const sql of connectGrants(series, db)) await own.query(sql);
      });
      if (DATABASES[series].inside.length) await inDatabase(config, db, [...DATABASES[series].inside]);
      await migrate(series, withDatabase(config[OWNER_URL[series]], db));
      // Written last: a template whose build failed half-way has no checksum and is rebuilt.
      await admin.query(`comment on database ${db} is ${admin.escapeLiteral(checksum)}`);
      await admin.query(`alter database ${db} is_template true allow_connections false`);
      out[series] = 'built';
    }));
    return out;
  });
}

/** Drops per-file databases older than `maxAgeMs` that a killed run left behind. */
export async function dropLeftoverDatabases(config: Config, maxAgeMs = 3 * 3600_000): Promise<string[]> {
  return adminSession(config, async (admin) => {
    const { rows } = await admin.query<{ datname: string }>(`select datname from pg_database where datname like 'etl_test_f_%'`);
    const stale = rows.map((r) => r.datname).filter((db) => {
      const stamp = FILE_DB.exec(db)?.[1];
      return stamp !== undefined && Date.now() - parseInt(stamp, 36) * 1000 > maxAgeMs;
    });
    for (const db of stale) await dropDatabase(admin, db);
    return stale;
  });
}

export interface FileDatabases {
  /** The URL variables pointing at the copies (same roles and passwords as the configured URLs). */
  env: Record<string, string>;
  /** Copies the templates, with the per-database grants the bootstrap gives. */
  create(): Promise<void>;
  drop(): Promise<void>;
}

/** Three databases of a file's own: named (and their URLs known) now, created by `create`. */
export function fileDatabases(config: Config): FileDatabases {
  const stamp = `${Math.floor(Date.now() / 1000).toString(36)}_${randomBytes(4).toString('hex')}`;
  const names = Object.fromEntries(SERIES.map((s) => [s, `etl_test_f_${stamp}_${s}`])) as Record<Series, string>;
  const env: Record<string, string> = {};
  for (const series of SERIES) for (const key of URL_KEYS[series]) env[key] = withDatabase(config[key], names[series]);
  return {
    env,
    // One session per database: the copies and the drops run in parallel.
    create: () => Promise.all(SERIES.map((series) => adminSession(config, async (admin) => {
      await admin.query('select pg_advisory_lock_shared(hashtext($1))', [LOCK]);
      await admin.query(`create database ${names[series]} owner ${DATABASES[series].owner} template ${TEMPLATE_PREFIX}${series}`);
      for (const sql of connectGrants(series, names[series])) await admin.query(sql);
    }))).then(() => undefined),
    drop: () => Promise.all(SERIES.map((series) => adminSession(config, (admin) => admin.query(`drop database if exists ${names[series]} with (force)`)))).then(() => undefined),
  };
}
