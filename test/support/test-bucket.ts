/**
 * The tests' own bucket (`<S3_BUCKET>-test`): test runs write raw, quarantine and curated objects,
 * and a transform test writes today's dimension snapshots; none of it may land in the user's lake.
 */
import { CreateBucketCommand, DeleteObjectCommand, HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Config } from '../../config';
import { makeS3 } from '../../lib/clients';

export const testBucketName = (config: Config) => `${config.S3_BUCKET}-test`.slice(0, 63);

/** Creates the bucket when missing and waits until an object can be written to it. */
export async function ensureTestBucket(config: Config): Promise<string> {
  const s3 = makeS3(config);
  const Bucket = testBucketName(config);
  try {
    try {
      await s3.send(new HeadBucketCommand({ Bucket }));
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw err;
      await s3.send(new CreateBucketCommand({ Bucket }));
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await s3.send(new PutObjectCommand({ Bucket, Key: '_probe', Body: 'ok' }));
        await s3.send(new DeleteObjectCommand({ Bucket, Key: '_probe' }));
        return Bucket;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    s3.destroy();
  }
}
