/**
 * PostgreSQL refuses to run as root. When the CLI runs as root we run initdb and postgres as
 * `nobody`, which must be able to reach both the binaries and the data folder.
 */
import { readFileSync, statSync } from 'node:fs';
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
