/**
 * The Python ML worker (ml/shop_ml, issue 15): a Temporal activity worker in Python serving the
 * churn training on the `<base>-ml` task queue, beside the TypeScript workers. Its venv is made
 * under ETL_CACHE_DIR from ml/requirements.txt (PyPI), keyed by that file's hash, so a second start
 * is instant and a changed pin makes a new one. Its environment comes from the one zod config.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Config } from '../config';
import { PROJECT_ROOT } from '../services/paths';
import { queueName } from '../workflows/queue-names';

const run = promisify(execFile);
export const ML_DIR = join(PROJECT_ROOT, 'ml');
const REQUIREMENTS = join(ML_DIR, 'requirements.txt');

/** The venv directory for the current requirements and python3: `<cache>/ml-venv-<hash>`. */
export async function mlVenvDir(config: Pick<Config, 'ETL_CACHE_DIR'>): Promise<string> {
  const { stdout } = await run('python3', ['-c', 'import sys; print(sys.version)']);
  const hash = createHash('sha256').update(readFileSync(REQUIREMENTS)).update(stdout).digest('hex').slice(0, 12);
  return join(config.ETL_CACHE_DIR, `ml-venv-${hash}`);
}

/**
 * Makes the venv once (python3 -m venv, pip install -r ml/requirements.txt); returns its python. It is
 * built under a name of its own and renamed into place, so two processes making it at once (a worker
 * and `etl churn train`) never use or break a half-made one; the later rename loses, harmlessly. A
 * venv's scripts name its path, but everything here runs `python -m …`, which a move does not break.
 */
export async function ensureMlVenv(config: Pick<Config, 'ETL_CACHE_DIR'>, log: (line: string) => void = console.log): Promise<string> {
  const venv = await mlVenvDir(config);
  const python = join(venv, 'bin', 'python');
  if (existsSync(join(venv, '.installed'))) return python;
  log(`installing the ML worker's Python packages into ${venv} (pip, from PyPI; once)`);
  const building = `${venv}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  const t0 = Date.now();
  try {
    await run('python3', ['-m', 'venv', building]);
    await run(join(building, 'bin', 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', REQUIREMENTS], { maxBuffer: 64 << 20 });
    writeFileSync(join(building, '.installed'), `${new Date().toISOString()}\n`);
    if (!existsSync(join(venv, '.installed'))) {
      rmSync(venv, { recursive: true, force: true }); // a half-made one from an older version of this code
      renameSync(building, venv);
    }
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    if (existsSync(join(venv, '.installed'))) return python; // another process finished first
    throw new Error(`could not make the ML venv ${venv}: ${(e.stderr ?? e.message).trim().split('\n').slice(-5).join(' | ')}`);
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  log(`ML venv ready in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return python;
}

/** The ML worker's environment: only what it reads (ml/shop_ml/store.py Settings, worker.py). */
export function mlWorkerEnv(config: Config, taskQueue: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    PYTHONPATH: ML_DIR,
    PYTHONUNBUFFERED: '1',
    ETL_ML_EXIT_ON_STDIN_EOF: '1',
    TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: config.TEMPORAL_NAMESPACE,
    ETL_ML_TASK_QUEUE: taskQueue,
    ANALYTICS_DATABASE_URL: config.ANALYTICS_DATABASE_URL,
    ...(config.S3_ENDPOINT ? { S3_ENDPOINT: config.S3_ENDPOINT } : {}),
    S3_REGION: config.S3_REGION,
    S3_BUCKET: config.S3_BUCKET,
    S3_ACCESS_KEY_ID: config.S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY: config.S3_SECRET_ACCESS_KEY,
    S3_FORCE_PATH_STYLE: String(config.S3_FORCE_PATH_STYLE),
    // A fit uses at most the machine's cores; no oversubscription by BLAS threads beside it.
    OMP_NUM_THREADS: String(config.ETL_ML_THREADS),
  };
}

export interface MlWorker {
  taskQueue: string;
  process: ChildProcess;
  /** SIGTERM, then waits for the exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

/** How long the worker may take to connect and print `ready` (imports of scikit-learn included). */
const START_TIMEOUT_MS = 120_000;

/**
 * Starts `python -m shop_ml.worker` polling `<base>-ml` (base: TEMPORAL_TASK_QUEUE or a test's own
 * queue) and resolves once it prints `ready`. Its output goes to `log` line by line. `onExit` hears
 * of an exit that stop() did not ask for. Its stdin is a pipe that this process holds: when this
 * process dies, even by SIGKILL, the worker reads end-of-file and stops (ml/shop_ml/worker.py).
 */
export async function startMlWorker(config: Config, opts: { baseQueue?: string; log?: (line: string) => void; onExit?: (code: number | null, signal: NodeJS.Signals | null) => void } = {}): Promise<MlWorker> {
  const python = await ensureMlVenv(config, opts.log);
  const taskQueue = queueName(opts.baseQueue ?? config.TEMPORAL_TASK_QUEUE, 'ml');
  const child = spawn(python, ['-m', 'shop_ml.worker'], { cwd: ML_DIR, env: mlWorkerEnv(config, taskQueue), stdio: ['pipe', 'pipe', 'pipe'] });
  const log = opts.log ?? ((line: string) => console.log(`[ml] ${line}`));
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once('close', (code, signal) => {
    if (!stopping) opts.onExit?.(code, signal);
    resolve();
  }));
  const tail: string[] = [];
  await new Promise<void>((resolve, reject) => {
    let ready = false;
    const fail = (why: string) => {
      if (ready) return;
      ready = true;
      child.kill('SIGKILL');
      reject(new Error(`the ML worker ${why} before polling ${taskQueue}: ${tail.join(' | ') || '(no output)'}`));
    };
    const timer = setTimeout(() => fail(`did not start within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        if (!ready && line.startsWith('ready ')) {
          ready = true;
          clearTimeout(timer);
          resolve();
        } else log(line);
      }
    };
    child.stdout.on('data', onLine);
    child.stderr.on('data', onLine);
    child.once('error', (err) => { clearTimeout(timer); fail(`could not run (${err.message})`); });
    child.once('exit', (code, signal) => { clearTimeout(timer); fail(`exited (code ${code}, signal ${signal})`); });
  });
  return {
    taskQueue,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      stopping = true;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
