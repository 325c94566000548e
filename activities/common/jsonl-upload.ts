/**
 * A JSON-lines object written as it is produced (S3 multipart beyond 5 MB), for outputs that can be
 * as large as their input, such as a purchase file quarantined whole. Nothing is uploaded until the
 * first line, so a load without rejects leaves no empty object. (activities/common/raw.ts does the same for
 * raw-zone keys derived from a load id; this one takes any key.)
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { Upload } from '@aws-sdk/lib-storage';
import type { Lake } from './raw';

export interface JsonlUpload {
  /** Appends one record as a JSON line; resolves once the stream can take more (backpressure). */
  write(record: unknown): Promise<void>;
  /** Appends records, one JSON line each, in one write. */
  writeMany(records: readonly unknown[]): Promise<void>;
  /** Completes the object; returns its key, line count and bytes, or null when nothing was written. */
  end(): Promise<{ key: string; lines: number; bytes: number } | null>;
  /** Gives up (the load failed): the partial multipart upload is discarded. */
  abort(): Promise<void>;
}

export function jsonlUpload(lake: Lake, key: string, contentType = 'application/x-ndjson'): JsonlUpload {
  let body: PassThrough | null = null;
  let upload: Upload | null = null;
  let done: Promise<unknown> | null = null;
  let lines = 0;
  let bytes = 0;
  const start = (): PassThrough => {
    const pass = new PassThrough();
    upload = new Upload({ client: lake.s3, params: { Bucket: lake.bucket, Key: key, Body: pass, ContentType: contentType } });
    done = upload.done();
    done.catch(() => undefined); // awaited in write/end; this only avoids an unhandled rejection meanwhile
    body = pass;
    return pass;
  };
  const writeMany = async (records: readonly unknown[]) => {
    if (records.length === 0) return;
    const pass = body ?? start();
    const text = records.map((r) => JSON.stringify(r) + '\n').join('');
    lines += records.length;
    bytes += Buffer.byteLength(text);
    if (!pass.write(text)) await Promise.race([once(pass, 'drain'), done]);
  };
  return {
    write: (record) => writeMany([record]),
    writeMany,
    async end() {
      if (!body || !done) return null;
      body.end();
      await done;
      return { key, lines, bytes };
    },
    async abort() {
      body?.destroy();
      await upload?.abort().catch(() => undefined);
    },
  };
}
