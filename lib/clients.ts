/**
 * Builders for the I/O clients. Only workers/, cli/ and services/ call these; activities receive
 * the clients ready-made (dependency injection), so tests can hand in clients of their own.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { Kafka, logLevel, type logCreator } from 'kafkajs';
import { Pool, type PoolConfig } from 'pg';
import { scrubSecrets, type Config } from '../config';
import { workerLine } from './log-line';

// The SDK warns on every process that Node 20 loses support in 2027; the README states the Node range.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export function makeS3(config: Config): S3Client {
  return new S3Client({
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY },
  });
}

export function makeKafka(config: Config, clientId = 'shop-etl'): Kafka {
  const logCreator = config.ETL_LOG_FORMAT === 'json' ? kafkaLogAs(true, (t) => scrubSecrets(t, config)) : kafkaLog;
  return new Kafka({ clientId, brokers: config.KAFKA_BROKERS, logLevel: logLevel.WARN, logCreator, retry: { retries: 8 } });
}

// Protocol errors kafkajs retries by itself (a fresh broker electing its coordinators and leaders,
// e.g. on the first InitProducerId or GroupCoordinator request, or a topic just created). It logs them as ERROR, which a
// user reads as a failure; one that outlasts the retries reaches the caller as a thrown error.
const RETRIED = /coordinator is not available|not the correct coordinator|coordinator is loading|no leader for this topic-partition|leadership election|does not host this topic-partition/i;

/**
 * kafkajs's logger: one line per entry on stderr, without the retried protocol errors, and without
 * the warning on every idempotent producer that bounded retries "may invalidate EoS" (our exactly
 * once rests on offsets committed in PostgreSQL, not on producer idempotence). With `json`
 * (ETL_LOG_FORMAT=json), a JSON line with `component: 'kafkajs'`.
 */
export function kafkaLogAs(json: boolean, scrub: (text: string) => string = (t) => t): logCreator {
  return () => ({ namespace, level, log }) => {
    if (log.message.startsWith('Limiting retries for the idempotent producer')) return;
    const error = typeof log.error === 'string' ? log.error : '';
    if (RETRIED.test(error)) return;
    const label = level === logLevel.ERROR ? 'ERROR' : level === logLevel.WARN ? 'WARN' : 'INFO';
    const text = `${namespace ? `${namespace}: ` : ''}${log.message}${error ? `: ${error}` : ''}`;
    console.error(json ? workerLine(true, label, text, scrub, { component: 'kafkajs' }) : `[kafkajs ${label}] ${scrub(text)}`);
  };
}

export const kafkaLog: logCreator = kafkaLogAs(false);

/** analyst: the analytics database as etl_analyst (names masked; only what that role is granted). */
export type DatabaseName = 'staging' | 'analytics' | 'analyst' | 'shop' | 'shopOwner' | 'admin';

export function databaseUrl(config: Config, db: DatabaseName): string {
  switch (db) {
    case 'staging': return config.STAGING_DATABASE_URL;
    case 'analytics': return config.ANALYTICS_DATABASE_URL;
    case 'analyst': {
      const url = new URL(config.ANALYTICS_DATABASE_URL);
      url.username = 'etl_analyst';
      url.password = config.ANALYST_PASSWORD;
      return url.toString();
    }
    case 'shop': return config.SHOP_DATABASE_URL;
    case 'shopOwner': return config.SHOP_OWNER_DATABASE_URL;
    case 'admin': return config.PG_ADMIN_URL;
  }
}

/** `extra`: more pool or session settings (e.g. `options: '-c statement_timeout=…'`, type parsers). */
export function makePool(config: Config, db: DatabaseName, max = 5, extra: Omit<PoolConfig, 'connectionString' | 'max'> = {}): Pool {
  // A caller that waits PG_POOL_TIMEOUT_MS for a connection gets an error (retried by its activity)
  // instead of waiting forever behind a pool that never frees.
  const pool = new Pool({ connectionString: databaseUrl(config, db), max, application_name: `shop-etl:${db}`, connectionTimeoutMillis: config.PG_POOL_TIMEOUT_MS, ...extra });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // Nor a checked-out one between its queries (a server restart or kill sends it a FATAL then): its
  // next query fails instead, the activity retries, and the broken client is discarded on release.
  // Found by bench/chaos.ts (--faults postgres), where the worker died at the restart without it.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
