/** One service through up, down and status. services/index.ts runs these for several at once. */
import { rmSync, writeFileSync } from 'node:fs';
import { scrubSecrets, type Config } from '../config';
import { portConflicts } from './ports';
import { findOrphans, isOurs, readPidFile, runningPid, spawnDetached, stopProcess, tailFile, type Ownership } from './process';
import type { ServiceContext, ServiceDef, ServiceName } from './types';

export interface UpResult {
  name: ServiceName;
  outcome: 'started' | 'already-running';
  pid: number;
  seconds: number;
  addresses: Record<string, string>;
  notes: string[];
}

export interface DownResult {
  name: ServiceName;
  outcome: 'stopped' | 'killed' | 'not-running';
  pids: number[];
  seconds: number;
}

export interface ServiceStatus {
  name: ServiceName;
  healthy: boolean;
  /** Our process, from the pid file; undefined when we did not start what answers there. */
  pid?: number;
  addresses: Record<string, string>;
  log: string;
}

/** A service that did not come up, with the end of its log (secrets scrubbed). */
export class ServiceFailure extends Error {
  constructor(public readonly service: ServiceName, message: string, public readonly logTail = '') {
    super(`${service}: ${message}`);
    this.name = 'ServiceFailure';
  }
}

export const ownership = (def: ServiceDef, ctx: ServiceContext): Ownership => ({ executable: def.executable, marker: ctx.paths.dir });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Secrets out of messages and log tails. The documented local superuser `postgres:postgres` is
 * public and would otherwise blank every "postgres" in a PostgreSQL log, so it is left alone.
 */
export function scrub(message: string, config: Config): string {
  const admin = new URL(config.PG_ADMIN_URL);
  const publicDefault = admin.username === 'postgres' && admin.password === 'postgres';
  return scrubSecrets(message, publicDefault ? { ...config, PG_ADMIN_URL: `postgres://postgres@${admin.host}${admin.pathname}` } : config);
}

/** A health probe that can neither hang nor throw. */
export async function probe(def: ServiceDef, ctx: ServiceContext, ms = 5000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((r) => { timer = setTimeout(() => r(false), ms); });
  try {
    return await Promise.race([def.healthy(ctx).catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function upOne(def: ServiceDef, ctx: ServiceContext, timeoutMs: number): Promise<UpResult> {
  const own = ownership(def, ctx);
  const started = Date.now();
  const fail = (message: string) => new ServiceFailure(def.name, scrub(message, ctx.config), scrub(tailFile(ctx.paths.log, 30), ctx.config));
  let pid = runningPid(ctx.paths.pid, own) ?? adoptOrphan(own, ctx);
  let outcome: UpResult['outcome'] = 'already-running';
  if (pid === undefined) {
    const conflicts = await portConflicts(def.name, def.ports(ctx.config));
    if (conflicts.length > 0) throw new ServiceFailure(def.name, conflicts.join('\n'));
    let spec;
    try {
      spec = await def.prepare(ctx);
    } catch (err) {
      throw fail(err instanceof Error ? err.message : String(err));
    }
    pid = spawnDetached(spec, ctx.paths.log, ctx.paths.pid);
    outcome = 'started';
  }
  const deadline = Date.now() + timeoutMs;
  while (!(await probe(def, ctx))) {
    if (!isOurs(pid, own)) {
      rmSync(ctx.paths.pid, { force: true });
      throw fail(`the process (pid ${pid}) exited before becoming healthy`);
    }
    if (Date.now() > deadline) {
      // Leave nothing half-started behind: a later `up` starts from a clean slate.
      if (outcome === 'started') {
        await stopProcess(pid, own, def.stopSignal, 5000);
        rmSync(ctx.paths.pid, { force: true });
      }
      throw fail(`not healthy after ${Math.round(timeoutMs / 1000)} s${outcome === 'started' ? '' : ` (pid ${pid} was already running and is left as it is; \`etl services down ${def.name}\` stops it)`}`);
    }
    await sleep(250);
  }
  const notes: string[] = [];
  try {
    const note = await def.bootstrap?.(ctx);
    if (note) notes.push(note);
  } catch (err) {
    throw fail(`started, but bootstrap failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { name: def.name, outcome, pid, seconds: (Date.now() - started) / 1000, addresses: def.addresses(ctx.config), notes };
}

/** A process of ours whose pid file was lost: write the file again rather than start a twin. */
function adoptOrphan(own: Ownership, ctx: ServiceContext): number | undefined {
  const [pid] = findOrphans(own);
  if (pid === undefined) return undefined;
  writeFileSync(ctx.paths.pid, `${pid}\n`);
  return pid;
}

export async function downOne(def: ServiceDef, ctx: ServiceContext): Promise<DownResult> {
  const own = ownership(def, ctx);
  const started = Date.now();
  const recorded = readPidFile(ctx.paths.pid);
  const pids = recorded !== undefined && isOurs(recorded, own) ? [recorded] : [];
  pids.push(...findOrphans(own, pids));
  let outcome: DownResult['outcome'] = 'not-running';
  for (const pid of pids) {
    const how = await stopProcess(pid, own, def.stopSignal);
    if (how === 'killed') outcome = 'killed';
    else if (outcome === 'not-running') outcome = 'stopped';
  }
  rmSync(ctx.paths.pid, { force: true });
  return { name: def.name, outcome, pids, seconds: (Date.now() - started) / 1000 };
}

export async function statusOne(def: ServiceDef, ctx: ServiceContext): Promise<ServiceStatus> {
  const pid = runningPid(ctx.paths.pid, ownership(def, ctx));
  return { name: def.name, healthy: await probe(def, ctx), pid, addresses: def.addresses(ctx.config), log: ctx.paths.log };
}
