/**
 * The local stack without Docker: PostgreSQL, Temporal's dev server, Kafka and an S3 store
 * (SeaweedFS), started detached so they outlive the CLI. Binaries live in ETL_CACHE_DIR,
 * state and logs in ETL_HOME/<service>/. The test suite's global setup calls servicesUp.
 */
import { mkdirSync } from 'node:fs';
import type { Config } from '../config';
import { kafka } from './kafka';
import { downOne, ServiceFailure, statusOne, upOne, type DownResult, type ServiceStatus, type UpResult } from './lifecycle';
import { withLock } from './lock';
import { cacheDir, homeDir, servicePaths } from './paths';
import { duplicatePorts } from './ports';
import { postgres } from './postgres';
import { s3 } from './s3';
import { temporal } from './temporal';
import { SERVICE_NAMES, type ServiceContext, type ServiceDef, type ServiceName } from './types';

export { SERVICE_NAMES, ServiceFailure, type DownResult, type ServiceName, type ServiceStatus, type UpResult };

const DEFS: Record<ServiceName, ServiceDef> = { postgres, temporal, kafka, s3 };

export interface UpOptions {
  /** Health wait per service after its process starts (installs are not counted). Default 90 s. */
  timeoutMs?: number;
  log?: (service: ServiceName, line: string) => void;
}

/** Thrown by servicesUp when any service failed; the others' results are kept. */
export class ServicesUpError extends Error {
  constructor(public readonly failures: ServiceFailure[], public readonly results: UpResult[]) {
    super(failures.map((f) => (f.logTail ? `${f.message}\n--- last log lines ---\n${f.logTail}` : f.message)).join('\n\n'));
    this.name = 'ServicesUpError';
  }
}

export function isServiceName(name: string): name is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(name);
}

function select(names?: readonly string[]): ServiceDef[] {
  if (!names || names.length === 0) return SERVICE_NAMES.map((n) => DEFS[n]);
  const unknown = names.filter((n) => !isServiceName(n));
  if (unknown.length) throw new Error(`unknown service ${unknown.join(', ')}; choose from ${SERVICE_NAMES.join(', ')}`);
  return [...new Set(names as ServiceName[])].map((n) => DEFS[n]);
}

function context(config: Config, name: ServiceName, log?: UpOptions['log']): ServiceContext {
  const paths = servicePaths(config, name);
  mkdirSync(paths.dir, { recursive: true });
  return { config, paths, cache: cacheDir(config), log: (line) => log?.(name, line) };
}

function assertSupported(config: Config): void {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`etl services runs on linux x64 only (this is ${process.platform} ${process.arch}); use docker-compose.yml elsewhere`);
  }
  const dupes = duplicatePorts(SERVICE_NAMES.flatMap((service) => DEFS[service].ports(config).map((spec) => ({ service, spec }))));
  if (dupes.length) throw new Error(dupes.join('\n'));
}

/** Starts the named services (default: all) in parallel; idempotent. Throws ServicesUpError. */
export async function servicesUp(config: Config, names?: readonly string[], opts: UpOptions = {}): Promise<UpResult[]> {
  const defs = select(names);
  assertSupported(config);
  return withLock(homeDir(config), 10 * 60_000, async () => {
    const settled = await Promise.allSettled(defs.map((d) => upOne(d, context(config, d.name, opts.log), opts.timeoutMs ?? 90_000)));
    const results = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failures = settled.flatMap((s, i) => {
      if (s.status === 'fulfilled') return [];
      const name = defs[i]?.name ?? 'postgres';
      return [s.reason instanceof ServiceFailure ? s.reason : new ServiceFailure(name, s.reason instanceof Error ? s.reason.message : String(s.reason))];
    });
    if (failures.length) throw new ServicesUpError(failures, results);
    return results;
  });
}

/** Stops the named services (default: all) that this ETL_HOME started; never anything else. */
export async function servicesDown(config: Config, names?: readonly string[]): Promise<DownResult[]> {
  const defs = select(names);
  return withLock(homeDir(config), 2 * 60_000, () => Promise.all(defs.map((d) => downOne(d, context(config, d.name)))));
}

export async function servicesStatus(config: Config, names?: readonly string[]): Promise<ServiceStatus[]> {
  return Promise.all(select(names).map((d) => statusOne(d, context(config, d.name))));
}

export function serviceLogPath(config: Config, name: ServiceName): string {
  return servicePaths(config, name).log;
}
