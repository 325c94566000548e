/** Waiting helpers shared by the integration tests: polling for a condition, a worker in a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** Polls `fn` until it returns something other than undefined; fails naming `what` after the timeout. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 240_000, everyMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Starts `etl worker` in a child process (so a test can kill it) and resolves once it polls. */
export function startWorkerProcess(taskQueue: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'etl.js'), 'worker', '--task-queue', taskQueue], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('worker did not start within 120 s')), 120_000);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('worker polling')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.on('exit', (code) => reject(new Error(`worker exited with ${String(code)} before polling: ${err.slice(-2000)}`)));
  });
}
