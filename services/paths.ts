/** Filesystem layout: binaries in the cache (versioned), state under ETL_HOME (git-ignored). */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import type { ServiceName, ServicePaths } from './types';

/** The repository root, so a relative ETL_HOME means the same folder from any working directory. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

export function homeDir(config: Config): string {
  return path.resolve(PROJECT_ROOT, config.ETL_HOME);
}

export function cacheDir(config: Config): string {
  return path.resolve(PROJECT_ROOT, config.ETL_CACHE_DIR);
}

export function servicePaths(config: Config, name: ServiceName): ServicePaths {
  const dir = path.join(homeDir(config), name);
  return { dir, data: path.join(dir, 'data'), log: path.join(dir, `${name}.log`), pid: path.join(dir, `${name}.pid`) };
}

export function ensureServiceDir(paths: ServicePaths): void {
  mkdirSync(paths.data, { recursive: true });
}
