/**
 * A test environment of its own for the benchmarks and long suites that run beside the user's data:
 * three databases copied from the test templates, a bucket, and a task queue (testEnv). dispose()
 * empties and deletes the bucket, closes the clients and drops the databases, each step on its own,
 * so one failing does not leave the others undone.
 */
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import type { Config } from '../../config';
import { deletePrefix } from '../../lib/s3';
import { testEnv, type TestEnv } from './env';
import { ensureTemplates, fileDatabases } from './test-databases';

export interface IsolatedEnv {
  env: TestEnv;
  /** `<prefix><6 hex>`: tells this run's topics, ids and files apart. */
  tag: string;
  bucket: string;
  /** The database URL variables, for child processes (an `etl worker`) to use the same databases. */
  dbEnv: Record<string, string>;
  /** `onError` hears of each cleanup step that failed (default: ignored). */
  dispose(onError?: (what: string, err: unknown) => void): Promise<void>;
}

export async function isolatedEnv(base: Config, name: string, tagPrefix: string): Promise<IsolatedEnv> {
  await ensureTemplates(base);
  const dbs = fileDatabases(base);
  await dbs.create();
  const tag = `${tagPrefix}${randomUUID().slice(0, 6)}`;
  const bucket = `${base.S3_BUCKET}-${tag}`.slice(0, 63);
  const env = await testEnv(name, { ...process.env, ...dbs.env, S3_BUCKET: bucket });
  await env.deps.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    env, tag, bucket, dbEnv: dbs.env,
    async dispose(onError = () => undefined) {
      const step = (what: string, fn: () => Promise<unknown>) => fn().catch((err: unknown) => onError(what, err));
      await step('empty the bucket', () => deletePrefix(env.deps.s3, bucket, ''));
      await step('delete the bucket', () => env.deps.s3.send(new DeleteBucketCommand({ Bucket: bucket })));
      await step('close', () => env.close());
      await step('drop the databases', () => dbs.drop());
    },
  };
}
