/**
 * The shape every local service implements. services/index.ts drives them through the same
 * lifecycle: check ports, install into the cache, prepare data, spawn detached, wait for health,
 * then an idempotent bootstrap (roles, topic, bucket, search attributes).
 */
import type { Config } from '../config';

export const SERVICE_NAMES = ['postgres', 'temporal', 'kafka', 's3'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** A TCP port a service listens on, and the variable that moves it. */
export interface PortSpec {
  port: number;
  /** What listens there, e.g. "gRPC frontend". */
  role: string;
  /** Environment variable that changes this port (derived ports name their base variable). */
  env: string;
}

/** Where one service keeps its state: `<ETL_HOME>/<name>/`. */
export interface ServicePaths {
  dir: string;
  data: string;
  log: string;
  pid: string;
}

export interface ServiceContext {
  config: Config;
  paths: ServicePaths;
  /** Cache root (ETL_CACHE_DIR, absolute). */
  cache: string;
  log: (line: string) => void;
}

export interface LaunchSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  uid?: number;
  gid?: number;
}

export interface ServiceDef {
  name: ServiceName;
  ports(config: Config): PortSpec[];
  /** Human-readable addresses for status output. */
  addresses(config: Config): Record<string, string>;
  /** Basename of the executable, checked against /proc/<pid>/cmdline before any kill. */
  executable: string;
  /** Signal for a clean, fast shutdown (postgres wants SIGINT: SIGTERM waits for clients). */
  stopSignal: NodeJS.Signals;
  /** Installs binaries into the cache if missing (atomically) and returns the launch command. */
  prepare(ctx: ServiceContext): Promise<LaunchSpec>;
  /** One quick probe, no retries; must resolve (never reject) within a few seconds. */
  healthy(ctx: ServiceContext): Promise<boolean>;
  /** Idempotent setup once healthy. */
  bootstrap?(ctx: ServiceContext): Promise<string | void>;
}
