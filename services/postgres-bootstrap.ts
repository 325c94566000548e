/**
 * Databases and least-privilege roles, created idempotently as the superuser. No tables: those
 * belong to the migrations in sql/. Each role reaches only its own database (CONNECT is revoked
 * from PUBLIC), and passwords follow the configured URLs so the two never drift apart.
 */
import { Client } from 'pg';
import type { Config } from '../config';

interface RolePlan {
  role: string;
  /** The configured URL that logs in as this role, if any (its password wins). */
  url?: string;
}

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
export function rolePassword(plan: RolePlan): string {
  if (plan.url) {
    const u = new URL(plan.url);
    if (decodeURIComponent(u.username) === plan.role && u.password) return decodeURIComponent(u.password);
  }
  return `${plan.role}_dev`;
}

export async function bootstrapDatabases(config: Config): Promise<string> {
  const urls = [config.PG_ADMIN_URL, config.STAGING_DATABASE_URL, config.ANALYTICS_DATABASE_URL, config.SHOP_DATABASE_URL, config.SHOP_OWNER_DATABASE_URL];
  if (!urls.every((u) => pointsAtLocalServer(u, config.ETL_PG_PORT))) {
    return 'configured database URLs point elsewhere: skipped creating databases and roles';
  }
  const roles: RolePlan[] = [
    { role: 'etl_staging', url: config.STAGING_DATABASE_URL },
    { role: 'etl_analytics', url: config.ANALYTICS_DATABASE_URL },
    { role: 'shop_owner', url: config.SHOP_OWNER_DATABASE_URL },
    { role: 'etl_shop_reader', url: config.SHOP_DATABASE_URL },
    { role: 'etl_analyst' },
    { role: 'etl_analyst_pii' },
  ];
  const admin = new Client({ connectionString: config.PG_ADMIN_URL, application_name: 'shop-etl:services' });
  await admin.connect();
  try {
    const lit = (v: string) => admin.escapeLiteral(v);
    for (const plan of roles) {
      const exists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [plan.role]);
      const verb = exists.rowCount ? 'ALTER' : 'CREATE';
      await admin.query(`${verb} ROLE ${plan.role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${lit(rolePassword(plan))}`);
    }
    for (const role of ['etl_shop_reader', 'etl_analyst', 'etl_analyst_pii']) await admin.query(`ALTER ROLE ${role} SET default_transaction_read_only = on`);
    const owners = { staging: 'etl_staging', analytics: 'etl_analytics', shop: 'shop_owner' } as const;
    for (const [db, owner] of Object.entries(owners)) {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (!exists.rowCount) await admin.query(`CREATE DATABASE ${db} OWNER ${owner} ENCODING 'UTF8' TEMPLATE template0`);
      await admin.query(`ALTER DATABASE ${db} OWNER TO ${owner}`);
      await admin.query(`REVOKE CONNECT ON DATABASE ${db} FROM PUBLIC`);
    }
    // The maintenance database too, so an ETL role cannot even list what else lives here.
    await admin.query('REVOKE CONNECT ON DATABASE postgres FROM PUBLIC');
    await admin.query('GRANT CONNECT ON DATABASE shop TO etl_shop_reader');
    await admin.query('GRANT CONNECT ON DATABASE analytics TO etl_analyst, etl_analyst_pii');
    await inDatabase(config, 'shop', [
      'GRANT USAGE ON SCHEMA public TO etl_shop_reader',
      'ALTER DEFAULT PRIVILEGES FOR ROLE shop_owner IN SCHEMA public GRANT SELECT ON TABLES TO etl_shop_reader',
    ]);
    // Analysts get USAGE only: which tables and views they may read (names masked or not) is
    // decided by the analytics migrations, so a new table never becomes readable by accident.
    await inDatabase(config, 'analytics', ['GRANT USAGE ON SCHEMA public TO etl_analyst, etl_analyst_pii']);
  } finally {
    await admin.end();
  }
  return 'databases staging, analytics, shop and their roles are in place';
}

async function inDatabase(config: Config, db: string, statements: string[]): Promise<void> {
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
