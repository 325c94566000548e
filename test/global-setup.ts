/**
 * Integration tests share one service stack per run: started (idempotently) here and left running
 * afterwards so the next run is fast (`npx etl services down` stops it). What the tests use of it
 * is their own: database templates each test file copies (test/file-setup.ts), a Temporal
 * namespace, and workflow bundles built once for every in-process Worker.
 */
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../config';
import { servicesUp } from '../services';
import { WORKFLOWS_PATH } from '../workers/worker';
import { dropLeftoverDatabases, ensureTemplates } from './support/test-databases';
import { ensureTestNamespace, TEST_NAMESPACE } from './support/test-temporal';
import { bundleToFile } from './support/workflow-bundles';
import { ensureTestBucket } from './support/test-bucket';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Temporal namespace of the test run. */
    temporalNamespace: string;
    /** workflowsPath → a prebuilt bundle of it (test/support/env.ts hands it to Worker.create). */
    workflowBundles: Record<string, string>;
    /** The tests' own S3 bucket (never the user's lake). */
    testBucket: string;
  }
}

const ROOT = join(__dirname, '..');
/** Workflow modules the tests' in-process workers run: the project's, and the fake pipelines of the orchestration tests. */
const BUNDLED = [WORKFLOWS_PATH, join(__dirname, 'fixtures', 'orchestration', 'workflows.ts')];

export default async function setup(project: TestProject): Promise<void> {
  const config = loadConfig();
  await servicesUp(config);
  const started = Date.now();
  const bundleDir = resolve(ROOT, config.ETL_HOME, 'test-bundles');
  const [templates, namespace, leftovers, bundles, bucket] = await Promise.all([
    ensureTemplates(config),
    ensureTestNamespace(config),
    dropLeftoverDatabases(config),
    Promise.all(BUNDLED.map(async (path) => [path, await bundleToFile(path, bundleDir)] as const)),
    ensureTestBucket(config),
  ]);
  project.provide('testBucket', bucket);
  project.provide('temporalNamespace', TEST_NAMESPACE);
  project.provide('workflowBundles', Object.fromEntries(bundles));
  console.log([
    `test database templates: ${Object.entries(templates).map(([series, what]) => `${series} ${what}`).join(', ')}`,
    namespace,
    `${bundles.length} workflow bundles in ${bundleDir}`,
    `bucket ${bucket}`,
    ...(leftovers.length ? [`dropped leftover test databases ${leftovers.join(', ')}`] : []),
  ].join('; ') + ` (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
