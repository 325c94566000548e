/**
 * Databases and least-privilege roles, created idempotently as the superuser. No tables: those
 * belong to the migrations in sql/. Each role reaches only its own database (CONNECT is revoked
 * from PUBLIC). A role is created with the password of its configured URL (or ANALYST_PASSWORD,
 * ANALYST_PII_PASSWORD); an existing role keeps its password (see postgres-roles.ts on rotation).
 */
import { Client } from 'pg';
import type { Config } from '../config';
import { describeRoles, ensureRoles, type RolePlan } from './postgres-roles';

const isLocalHost = (h: string) => ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(h);

/** Pure: does this URL point at the server `services up` runs? */
export function pointsAtLocalServer(url: string, port: number): boolean {
  const u = new URL(url);
  return isLocalHost(u.hostname) && Number(u.port || 5432) === port;
}

/** Superuser URL of the local server: PG_ADMIN_URL when it is local, else the documented default. */
export function localAdminUrl(config: Config): string {
  if (pointsAtLocalServer(config.PG_ADMIN_URL, config.ETL_PG_PORT)) return config.PG_ADMIN_URL;
  return `postgres://postgres:postgres@127.0.0.1:${config.ETL_PG_PORT}/postgres`;
}

/** Pure: the password for a role: from its configured URL when the URL logs in as it, else `<role>_dev`. */
export function rolePassword(plan: { role: string; url?: string }): string {
  if (plan.url) {
    const u = new URL(plan.url);
    if (decodeURIComponent(u.username) === plan.role && u.password) return decodeURIComponent(u.password);
  }
  return `${plan.role}_dev`;
}

/** Pure: every login role of the local server, with the password it is created with. */
export function rolePlans(config: Config): RolePlan[] {
  const fromUrl = (role: string, source: 'STAGING_DATABASE_URL' | 'ANALYTICS_DATABASE_URL' | 'SHOP_OWNER_DATABASE_URL' | 'SHOP_DATABASE_URL'): RolePlan =>
    ({ role, password: rolePassword({ role, url: config[source] }), source });
  return [
    fromUrl('etl_staging', 'STAGING_DATABASE_URL'),
    fromUrl('etl_analytics', 'ANALYTICS_DATABASE_URL'),
    fromUrl('shop_owner', 'SHOP_OWNER_DATABASE_URL'),
    fromUrl('etl_shop_reader', 'SHOP_DATABASE_URL'),
    { role: 'etl_analyst', password: config.ANALYST_PASSWORD, source: 'ANALYST_PASSWORD' },
    { role: 'etl_analyst_pii', password: config.ANALYST_PII_PASSWORD, source: 'ANALYST_PII_PASSWORD' },
  ];
}

/**
 * Each database of the local server: its owning role, who else may connect, and the grants inside
 * it. CONNECT lives in pg_database and is not copied by CREATE DATABASE … TEMPLATE; the grants
 * inside are. The test suite's per-file databases follow this too (test/support/test-databases.ts).
 */
export const DATABASES = {
  staging: { owner: 'etl_staging', connect: [], inside: [] },
  // Analysts get USAGE only: which tables and views they may read (names masked or not) is
  // decided by the analytics migrations, so a new table never becomes readable by accident.
  analytics: { owner: 'etl_analytics', connect: ['etl_analyst', 'etl_analyst_pii'], inside: ['GRANT USAGE ON SCHEMA public TO etl_analyst, etl_analyst_pii'] },
  shop: {
    owner: 'shop_owner',
    connect: ['etl_shop_reader'],
    inside: ['GRANT USAGE ON SCHEMA public TO etl_shop_reader', 'ALTER DEFAULT PRIVILEGES FOR ROLE shop_owner IN SCHEMA public GRANT SELECT ON TABLES TO etl_shop_reader'],
  },
} as const satisfies Record<string, { owner: string; connect: readonly string[]; inside: readonly string[] }>;
export type DatabaseKind = keyof typeof DATABASES;

/** Pure: who may connect to database `name` of this kind: no one but its owner and the kind's readers. */
export function connectGrants(kind: DatabaseKind, name: string): string[] {
  const readers: readonly string[] = DATABASES[kind].connect;
  return [`REVOKE CONNECT ON DATABASE ${name} FROM PUBLIC`, ...(readers.length ? [`GRANT CONNECT ON DATABASE ${name} TO ${readers.join(', ')}`] : [])];
}

export async function bootstrapDatabases(config: Config): Promise<string> {
  const urls = [config.PG_ADMIN_URL, config.STAGING_DATABASE_URL, config.ANALYTICS_DATABASE_URL, config.SHOP_DATABASE_URL, config.SHOP_OWNER_DATABASE_URL];
  if (!urls.every((u) => pointsAtLocalServer(u, config.ETL_PG_PORT))) {
    return 'configured database URLs point elsewhere: skipped creating databases and roles';
  }
  const admin = new Client({ connectionString: config.PG_ADMIN_URL, application_name: 'shop-etl:services' });
  await admin.connect();
  let roles = '';
  try {
    roles = describeRoles(await ensureRoles(admin, rolePlans(config)));
    for (const role of ['etl_shop_reader', 'etl_analyst', 'etl_analyst_pii']) await admin.query(`ALTER ROLE ${role} SET default_transaction_read_only = on`);
    const kinds = Object.keys(DATABASES) as DatabaseKind[];
    for (const db of kinds) {
      const { owner } = DATABASES[db];
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (!exists.rowCount) await admin.query(`CREATE DATABASE ${db} OWNER ${owner} ENCODING 'UTF8' TEMPLATE template0`);
      await admin.query(`ALTER DATABASE ${db} OWNER TO ${owner}`);
      for (const sql of connectGrants(db, db)) await admin.query(sql);
    }
    // The maintenance database too, so an ETL role cannot even list what else lives here.
    await admin.query('REVOKE CONNECT ON DATABASE postgres FROM PUBLIC');
    for (const db of kinds) if (DATABASES[db].inside.length) await inDatabase(config, db, [...DATABASES[db].inside]);
  } finally {
    await admin.end();
  }
  return `databases staging, analytics, shop and their roles are in place${roles ? ` (${roles})` : ''}`;
}

/** Runs statements as the superuser inside database `db`. */
export async function inDatabase(config: Config, db: string, statements: string[]): Promise<void> {
  const url = new URL(config.PG_ADMIN_URL);
  url.pathname = `/${db}`;
  const client = new Client({ connectionString: url.toString(), application_name: 'shop-etl:services' });
  await client.connect();
  try {
    for (const sql of statements) await client.query(sql);
  } finally {
    await client.end();
  }
}
