/**
 * Workflow bundles built once per test run, in the global setup, instead of once per Worker.create
 * (webpack, about a second each on an idle machine and several under load).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

/**
 * Bundles `workflowsPath` as Worker.create would (the project's workers pass no bundler options)
 * into a file under `dir`, written whole (renamed into place), so a concurrent run never reads
 * half a bundle. Returns its path, for Worker.create's `workflowBundle: { codePath }`.
 */
export async function bundleToFile(workflowsPath: string, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const key = createHash('sha256').update(workflowsPath).digest('hex').slice(0, 12);
  const codePath = join(dir, `${basename(workflowsPath).replace(/\.[jt]s$/, '')}-${key}.js`);
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  const tmp = `${codePath}.${process.pid}.tmp`;
  writeFileSync(tmp, code);
  renameSync(tmp, codePath);
  return codePath;
}
