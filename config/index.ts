/**
 * The one configuration schema. Everything the project reads from the environment is declared
 * here, with defaults that point at the local services `etl services up` starts, so the demo needs
 * no configuration. Only workers/, cli/ and services/ call loadConfig; activities get what they
 * need handed in.
 */
import { z } from 'zod';

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const pgUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\/[^/]+\/[^/?]+/.test(v), 'must look like postgres://user:password@host:port/database');
const httpUrl = z.string().refine((v) => /^https?:\/\/[^/]+/.test(v), 'must be an http:// or https:// URL');
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Ports of the local services; the URLs below default to them. */
const portsSchema = z.object({
  ETL_PG_PORT: port(54329),
  ETL_TEMPORAL_PORT: port(7233),
  ETL_TEMPORAL_UI_PORT: port(8233),
  ETL_KAFKA_PORT: port(19092),
  ETL_KAFKA_CONTROLLER_PORT: port(19093),
  ETL_S3_PORT: port(19000),
  ETL_ORDERS_API_PORT: port(18080),
  /** `etl dashboard` and the demo's dashboard. */
  ETL_DASHBOARD_PORT: port(18090),
  /** A worker's Prometheus `/metrics` (docs/operations.md); the SDK's own exporter takes the next port. 0 turns both off. */
  ETL_METRICS_PORT: z.coerce.number().int().min(0).max(65534).default(9464),
});

/** The default PSEUDONYM_KEY: public, so pseudonyms made with it can be reversed by anyone. */
export const DEV_PSEUDONYM_KEY = 'dev-pseudonym-key-change-me';

function schemaFor(p: z.infer<typeof portsSchema>) {
  const pg = (user: string, db: string) => `postgres://${user}:${user}_dev@127.0.0.1:${p.ETL_PG_PORT}/${db}`;
  return z.object({
    TEMPORAL_ADDRESS: z.string().regex(/^[^:]+:\d+$/, 'must be host:port').default(`127.0.0.1:${p.ETL_TEMPORAL_PORT}`),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('etl'),
    TEMPORAL_UI_URL: httpUrl.default(`http://127.0.0.1:${p.ETL_TEMPORAL_UI_PORT}`),
    PG_ADMIN_URL: pgUrl.default(`postgres://postgres:postgres@127.0.0.1:${p.ETL_PG_PORT}/postgres`),
    STAGING_DATABASE_URL: pgUrl.default(pg('etl_staging', 'staging')),
    ANALYTICS_DATABASE_URL: pgUrl.default(pg('etl_analytics', 'analytics')),
    SHOP_DATABASE_URL: pgUrl.default(pg('etl_shop_reader', 'shop')),
    SHOP_OWNER_DATABASE_URL: pgUrl.default(pg('shop_owner', 'shop')),
    /** The longest wait for a pooled PostgreSQL connection before the caller gets an error. */
    PG_POOL_TIMEOUT_MS: z.coerce.number().int().min(100).default(60_000),
    KAFKA_BROKERS: z
      .string()
      .default(`127.0.0.1:${p.ETL_KAFKA_PORT}`)
      .transform((v) => v.split(',').map((b) => b.trim()).filter(Boolean))
      .pipe(z.array(z.string().regex(/^[^:]+:\d+$/, 'each broker must be host:port')).min(1)),
    KAFKA_EVENTS_TOPIC: z.string().min(1).default('shop.events'),
    KAFKA_EVENTS_PARTITIONS: z.coerce.number().int().min(1).default(3),
    /** How long a range of events must have been failing (and on its third attempt or later) before a stuck alert is raised. */
    EVENTS_STUCK_ALERT_SECONDS: z.coerce.number().int().min(0).default(30),
    S3_ENDPOINT: httpUrl.optional().default(`http://127.0.0.1:${p.ETL_S3_PORT}`),
    S3_REGION: z.string().min(1).default('us-east-1'),
    S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name').default('shop-lake'),
    S3_ACCESS_KEY_ID: z.string().min(1).default('etl-local'),
    S3_SECRET_ACCESS_KEY: z.string().min(8, 'must be at least 8 characters').default('etl-local-secret'),
    S3_FORCE_PATH_STYLE: bool.default(true),
    ORDERS_API_URL: httpUrl.default(`http://127.0.0.1:${p.ETL_ORDERS_API_PORT}`),
    ORDERS_API_TOKEN: z.string().min(8, 'must be at least 8 characters').default('dev-orders-token'),
    ORDERS_API_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
    /** Page size (limit) of the orders pipeline; keep it stable, page boundaries name the loads. */
    ORDERS_API_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(500),
    PSEUDONYM_KEY: z.string().min(16, 'must be at least 16 characters').default(DEV_PSEUDONYM_KEY),
    /** Passwords the analyst roles are created with; only at creation: rotate with ALTER ROLE afterwards. */
    ANALYST_PASSWORD: z.string().min(8, 'must be at least 8 characters').default('etl_analyst_dev'),
    ANALYST_PII_PASSWORD: z.string().min(8, 'must be at least 8 characters').default('etl_analyst_pii_dev'),
    ALERT_WEBHOOK_URL: httpUrl.optional(),
    /** Per-pipeline SLA of scheduled runs in minutes, e.g. `orders=8,transform=45`; unnamed pipelines get their cadence. */
    ETL_SLA_MINUTES: z.string().regex(/^(\s*[a-z]+\s*=\s*\d+(\.\d+)?\s*)?(,\s*[a-z]+\s*=\s*\d+(\.\d+)?\s*)*$/, 'must look like orders=8,transform=45').default(''),
    /** Freshness SLA per target in minutes, e.g. `orders=30,events=2` (0 turns one off); the rest keep their defaults (docs/operations.md). Applied by etl schedules apply. */
    ETL_FRESHNESS_MINUTES: z.string().regex(/^(\s*[a-z]+\s*=\s*\d+(\.\d+)?\s*)?(,\s*[a-z]+\s*=\s*\d+(\.\d+)?\s*)*$/, 'must look like orders=30,events=2').default(''),
    /** Starts buffered behind a running one (per schedule) that raise a backlog alert; 0 turns it off. Applied by etl schedules apply. */
    ETL_SCHEDULE_BACKLOG_ALERT: z.coerce.number().int().min(0).default(3),
    /**
     * Data-check thresholds and severities (docs/data-checks.md), e.g. `orders_volume.min_ratio=0.5,events_volume.severity=off`:
     * `<check>.<param>=<number>` or `<check>.severity=blocking|warning|off`. Checked against sql/checks when a worker starts.
     */
    ETL_DATA_CHECKS: z.string().regex(/^(\s*[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\s*=\s*[^,\s]+\s*)?(,\s*[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\s*=\s*[^,\s]+\s*)*$/, 'must look like orders_volume.min_ratio=0.5,events_volume.severity=off').default(''),
    /** Realtime spike alerts (docs/realtime.md): robust z-score of a closed minute against the trailing window. */
    REALTIME_SPIKE_WINDOW_MINUTES: z.coerce.number().int().min(5).max(1440).default(30),
    REALTIME_SPIKE_MIN_HISTORY: z.coerce.number().int().min(3).default(10),
    REALTIME_SPIKE_Z: z.coerce.number().positive().default(6),
    REALTIME_SPIKE_MIN_RATIO: z.coerce.number().min(1).default(2),
    REALTIME_SPIKE_MIN_EXCESS: z.coerce.number().int().min(0).default(20),
    /** Minutes after its end that a minute waits for late events before spikes are judged. */
    REALTIME_LATENESS_MINUTES: z.coerce.number().int().min(0).default(1),
    /** Address `/metrics` binds to: this machine only by default; 0.0.0.0 for a Prometheus elsewhere. */
    ETL_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    /** Threads a churn fit may use in the Python ML worker (OMP_NUM_THREADS; workers/ml.ts). */
    ETL_ML_THREADS: z.coerce.number().int().min(1).max(256).default(2),
    ETL_HOME: z.string().min(1).default('.run'),
    ETL_CACHE_DIR: z.string().min(1).default(`${process.env.HOME ?? '/tmp'}/.cache/shop-etl`),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    /** `etl worker`'s log lines: the SDK's text, or one JSON object per line (docs/operations.md). */
    ETL_LOG_FORMAT: z.enum(['text', 'json']).default('text'),
  });
}

export type Ports = z.infer<typeof portsSchema>;
export type Config = Ports & z.infer<ReturnType<typeof schemaFor>>;

/** Names of variables whose values must never be printed. */
// ALERT_WEBHOOK_URL counts as a secret: chat webhooks carry their token in the path.
export const SECRET_KEYS = ['S3_SECRET_ACCESS_KEY', 'ORDERS_API_TOKEN', 'PSEUDONYM_KEY', 'ALERT_WEBHOOK_URL', 'ANALYST_PASSWORD', 'ANALYST_PII_PASSWORD'] as const;

export class ConfigError extends Error {
  constructor(public readonly issues: string[]) {
    super(`Invalid configuration: ${issues.join('; ')}`);
    this.name = 'ConfigError';
  }
}

function describe(error: z.ZodError): string[] {
  // Messages name the variable and the rule, never the value: values may be secrets.
  return error.issues.map((i) => `${String(i.path[0] ?? '?')} ${i.message.replace(/, received .*/, '')}`);
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const defined = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const ports = portsSchema.safeParse(defined);
  if (!ports.success) throw new ConfigError(describe(ports.error));
  const rest = schemaFor(ports.data).safeParse(defined);
  if (!rest.success) throw new ConfigError(describe(rest.error));
  return { ...ports.data, ...rest.data };
}

/** A copy safe to print: secrets and URL passwords replaced. */
export function redactConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    if ((SECRET_KEYS as readonly string[]).includes(k)) out[k] = v === undefined ? undefined : '***';
    else if (typeof v === 'string') out[k] = redactUrl(v);
    else out[k] = v;
  }
  return out;
}

export function redactUrl(value: string): string {
  return value.replace(/^(\w+:\/\/[^:/@]+):[^@]*@/, '$1:***@');
}

/** Removes every secret value of the config from a message, for logs and errors. */
export function scrubSecrets(message: string, config: Config): string {
  let out = message;
  const secrets: string[] = SECRET_KEYS.map((k) => config[k] ?? '');
  for (const url of [config.PG_ADMIN_URL, config.STAGING_DATABASE_URL, config.ANALYTICS_DATABASE_URL, config.SHOP_DATABASE_URL, config.SHOP_OWNER_DATABASE_URL]) {
    const password = /^\w+:\/\/[^:/@]+:([^@]*)@/.exec(url)?.[1];
    if (password) secrets.push(password, decodeURIComponent(password));
  }
  for (const s of secrets.filter((x) => x.length >= 4)) out = out.split(s).join('***');
  return out;
}

/** Pure: is this host name the local machine (localhost, 127.0.0.0/8, ::1)? */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(h) || h === '::1';
}

/** The host names of every endpoint the worker talks to, by the variable that names it. */
function endpointHosts(config: Config): Array<[string, string]> {
  const hostOf = (hostPort: string) => hostPort.replace(/:\d+$/, '');
  const urls = ['PG_ADMIN_URL', 'STAGING_DATABASE_URL', 'ANALYTICS_DATABASE_URL', 'SHOP_DATABASE_URL', 'SHOP_OWNER_DATABASE_URL', 'S3_ENDPOINT', 'ORDERS_API_URL'] as const;
  return [
    ...urls.map((k): [string, string] => [k, new URL(config[k]).hostname]),
    ...config.KAFKA_BROKERS.map((b): [string, string] => ['KAFKA_BROKERS', hostOf(b)]),
    ['TEMPORAL_ADDRESS', hostOf(config.TEMPORAL_ADDRESS)],
  ];
}

/**
 * Pure: a warning when the public development PSEUDONYM_KEY is used against endpoints that are not
 * on this machine, where real data may be pseudonymised with a key everyone knows; else null.
 */
export function devPseudonymKeyWarning(config: Config): string | null {
  if (config.PSEUDONYM_KEY !== DEV_PSEUDONYM_KEY) return null;
  const remote = endpointHosts(config).filter(([, host]) => !isLoopbackHost(host));
  if (remote.length === 0) return null;
  const where = [...new Set(remote.map(([k, host]) => `${k} (${host})`))].join(', ');
  return [
    'PSEUDONYM_KEY is the public development key, but endpoints are not local:',
    `  ${where}.`,
    'Anyone who has the code knows this key and can re-identify the pseudonymised user ids.',
    'Set PSEUDONYM_KEY to a secret of at least 16 characters (e.g. `openssl rand -hex 32`).',
    'Changing it later changes every pseudonym, so set it before the first load.',
  ].join('\n');
}
