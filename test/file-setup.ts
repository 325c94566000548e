/**
 * Runs before every integration test file (vitest setupFiles): points the file's environment at
 * three databases of its own, copied from the templates the global setup migrated, and at the
 * test namespace of Temporal. Everything that reads the environment follows: loadConfig() and
 * testEnv, and the `etl` child processes tests spawn (they inherit process.env).
 */
import { afterAll, beforeAll, inject } from 'vitest';
import { loadConfig } from '../config';
import { fileDatabases } from './support/test-databases';

const databases = fileDatabases(loadConfig());
// Set on import, before the test file's own imports read the environment; created before its hooks run.
// The tests' own bucket, and no webhook: planted alerts must not reach a receiver the user configured.
Object.assign(process.env, databases.env, { TEMPORAL_NAMESPACE: inject('temporalNamespace'), S3_BUCKET: inject('testBucket') });
delete process.env.ALERT_WEBHOOK_URL;

beforeAll(() => databases.create());
// Registered before the file's own hooks, so it runs after them (vitest runs after-hooks as a stack).
afterAll(() => databases.drop());
