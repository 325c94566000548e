/**
 * PostgreSQL refuses to run as root. When the CLI runs as root we run initdb and postgres as
 * `nobody`, which must be able to reach both the binaries and the data folder.
 */
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Account {
  name: string;
  uid: number;
  gid: number;
}

/** The account to run postgres as, or undefined when we are not root. */
export function unprivilegedAccount(): Account | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) throw new Error('running as root, but there is no `nobody` account to run postgres as; run the CLI as an ordinary user');
  return { name: 'nobody', uid: Number(uid), gid: Number(gid) };
}

/** Pure: may this account search (x) a directory with this owner and mode? */
export function canTraverse(stat: { uid: number; gid: number; mode: number }, who: Account): boolean {
  if (stat.uid === who.uid) return (stat.mode & 0o100) !== 0;
  if (stat.gid === who.gid) return (stat.mode & 0o010) !== 0;
  return (stat.mode & 0o001) !== 0;
}

/** Throws naming the first ancestor of `target` that `who` cannot traverse. */
export function assertReachable(target: string, who: Account, why: string): void {
  let dir = path.dirname(path.resolve(target));
  const chain: string[] = [];
  for (;;) {
    chain.unshift(dir);
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const d of chain) {
    if (!canTraverse(statSync(d), who)) {
      throw new Error(`postgres runs as '${who.name}' (it refuses root), but ${d} is not traversable by that user, so it cannot reach ${why} ${target}. Run chmod o+x ${d}, or move ETL_HOME / the project elsewhere.`);
    }
  }
}

/** True when `who` can traverse every ancestor of `target`. */
export function isReachable(target: string, who: Account): boolean {
  try {
    assertReachable(target, who, 'path');
    return true;
  } catch {
    return false;
  }
}

/**
 * When the project lives where `nobody` cannot go (e.g. under /root), postgres gets a home under
 * /var/tmp instead: the binaries are copied there once, and the data folder is a symlink from
 * ETL_HOME, so pid-file ownership checks (which look for ETL_HOME in the command line) still hold.
 */
export const RELOCATED_ROOT = '/var/tmp/shop-etl';

export function relocatedDir(key: string): string {
  const dir = path.join(RELOCATED_ROOT, key.replace(/[^A-Za-z0-9._-]+/g, '_').slice(-120));
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return dir;
}

export function relocatedCopy(source: string, key: string): string {
  const target = relocatedDir(key);
  if (!existsSync(path.join(target, '.complete'))) {
    cpSync(source, target, { recursive: true, verbatimSymlinks: true });
    writeFileSync(path.join(target, '.complete'), '');
  }
  return target;
}

/** Makes `link` a symlink to a folder under RELOCATED_ROOT and returns the real folder. */
export function relocatedLink(link: string, key: string): string {
  const real = relocatedDir(key);
  // An empty folder in its place (made by ensureServiceDir) is replaced by the link.
  if (existsSync(link) && !lstatSync(link).isSymbolicLink() && readdirSync(link).length === 0) rmdirSync(link);
  if (!existsSync(link)) {
    // A new ETL_HOME means new data: never adopt what an earlier checkout at this path left there.
    rmSync(real, { recursive: true, force: true });
    mkdirSync(real, { recursive: true, mode: 0o755 });
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(real, link);
  } else if (!lstatSync(link).isSymbolicLink()) {
    throw new Error(`${link} exists and is not a symlink to ${real}; remove it to let postgres run from ${RELOCATED_ROOT}`);
  }
  return real;
}
