/**
 * Detached processes and their pid files. Before signalling a pid we re-read /proc/<pid>/cmdline:
 * pids are recycled, and a stale pid file must never make us kill someone else's process.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { LaunchSpec } from './types';

/** What a process of ours looks like: its executable's basename and a path only our command line holds. */
export interface Ownership {
  executable: string;
  /** The service directory under ETL_HOME; every launch command names a file inside it. */
  marker: string;
}

/** Pure: does a NUL-separated /proc cmdline belong to the expected command? */
export function cmdlineMatches(cmdline: string, own: Ownership): boolean {
  const argv = cmdline.split('\0').filter(Boolean);
  const exe = argv[0];
  if (!exe || path.basename(exe) !== own.executable) return false;
  const marker = own.marker.replace(/\/+$/, '');
  return argv.slice(1).some((a) => a === marker || a.includes(`${marker}/`));
}

export function readCmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

export function isOurs(pid: number, own: Ownership): boolean {
  const cmdline = readCmdline(pid);
  return cmdline !== undefined && cmdlineMatches(cmdline, own) && !isZombie(pid);
}

export function isZombie(pid: number): boolean {
  try {
    // The state follows the parenthesised command name, which may itself contain spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

export function readPidFile(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** The pid of our running process, or undefined; a stale pid file is removed on the way. */
export function runningPid(pidFile: string, own: Ownership): number | undefined {
  const pid = readPidFile(pidFile);
  if (pid !== undefined && isOurs(pid, own)) return pid;
  if (existsSync(pidFile)) rmSync(pidFile, { force: true });
  return undefined;
}

/** Processes whose cmdline matches but whose pid file is lost (e.g. deleted by hand). */
export function findOrphans(own: Ownership, exclude: number[] = []): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => pid !== process.pid && !exclude.includes(pid) && isOurs(pid, own));
}

/** Starts the command in its own process group with stdio to the log file, and forgets it. */
export function spawnDetached(spec: LaunchSpec, logFile: string, pidFile: string): number {
  const fd = openSync(logFile, 'a');
  writeSync(fd, `\n=== ${new Date().toISOString()} starting ${path.basename(spec.command)} ===\n`);
  try {
    const child = spawn(spec.command, spec.args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: spec.env ?? process.env,
      uid: spec.uid,
      gid: spec.gid,
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`);
    child.unref();
    writeFileSync(pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Signal, wait up to graceMs, then SIGKILL the process and its group. Returns how it ended. */
export async function stopProcess(pid: number, own: Ownership, signal: NodeJS.Signals, graceMs = 20_000): Promise<'stopped' | 'killed' | 'gone'> {
  if (!isOurs(pid, own)) return 'gone';
  process.kill(pid, signal);
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isOurs(pid, own)) return 'stopped';
    await sleep(200);
  }
  if (!isOurs(pid, own)) return 'stopped';
  // Detached children lead their own group, so the group holds only processes we started.
  try { process.kill(-pid, 'SIGKILL'); } catch { process.kill(pid, 'SIGKILL'); }
  for (let i = 0; i < 25 && isOurs(pid, own); i++) await sleep(200);
  return 'killed';
}

/** The last `lines` lines of a file (reads at most the last 256 KiB). */
export function tailFile(file: string, lines: number): string {
  if (!existsSync(file)) return '';
  const fd = openSync(file, 'r');
  try {
    const { size } = fstatSync(fd);
    const len = Math.min(size, 256 * 1024);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8').replace(/\n+$/, '').split('\n').slice(-lines).join('\n');
  } finally {
    closeSync(fd);
  }
}
