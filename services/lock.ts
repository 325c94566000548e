/**
 * One `up` or `down` at a time per ETL_HOME: the test suite's global setup and a developer's CLI
 * may run together, and two starters would both find the ports free and race.
 */
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function withLock<T>(home: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  mkdirSync(home, { recursive: true });
  const file = path.join(home, 'services.lock');
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(readFileSync(file, 'utf8') || '0', 10);
      if (!holder || !alive(holder)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another \`etl services\` (pid ${holder}) holds ${file}; wait for it or remove the file if that process is gone`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
