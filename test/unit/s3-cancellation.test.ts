/**
 * The worker's S3 client aborts a request in flight when the activity that sent it is cancelled
 * (workers/cancellation.ts). The endpoint is a local server that accepts and never answers, so only
 * the abort can end the request.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancellableS3 } from '../../workers/cancellation';

describe('S3 requests of a cancelled activity', () => {
  let server: Server;
  const sockets: Socket[] = [];
  let s3: S3Client;
  beforeAll(async () => {
    server = createServer((s) => { sockets.push(s); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    s3 = cancellableS3(new S3Client({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1,
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    }));
  });
  afterAll(async () => {
    s3?.destroy();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server?.close(r));
  });

  const get = () => s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' }));

  it('are aborted when the activity is cancelled', async () => {
    const env = new MockActivityEnvironment();
    const running = env.run(async () => get().then(() => 'answered', (err: Error) => err.name));
    await new Promise((r) => setTimeout(r, 300));
    env.cancel();
    expect(await running).toBe('AbortError');
  });

  it('are left alone outside an activity', async () => {
    const outcome = await Promise.race([get().then(() => 'answered', (err: Error) => err.name), new Promise((r) => setTimeout(() => r('still waiting'), 1000))]);
    expect(outcome).toBe('still waiting');
  });
});
