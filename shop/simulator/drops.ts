/**
 * File drops: each purchases/* file is put under the lake's drop prefix on its simulated date.
 * A file named for day D holds D's purchases, so it appears once the clock passes the end of D
 * (midnight UTC of D+1), as a nightly export would. A file already in the bucket with the same size is not uploaded again.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DROP_PREFIX } from '../../lib/lake';
import { putObject } from '../../lib/s3';
import { openDataset } from '../dataset/read-sources';
import { sleep, type SimClock } from './clock';

const DAY = 86_400_000;

export interface DueFile { name: string; path: string; dueAt: number }

/** The purchase files of a dataset (named by the layout's rule), in due order. */
export function listPurchaseFiles(dataDir: string): DueFile[] {
  return openDataset(dataDir).purchases.map((f) => ({
    name: basename(f.path), path: join(dataDir, f.path), dueAt: Date.parse(`${f.date}T00:00:00Z`) + DAY,
  }));
}

export interface DropPurchaseFilesInput {
  s3: S3Client;
  bucket: string;
  dataDir: string;
  /** Defaults to the lake's drop prefix, drop/purchases/. Tests pass a prefix of their own. */
  prefix?: string;
  /** Replay/live: drop each file when the clock passes its date. Absent: everything now. */
  clock?: SimClock;
  signal?: AbortSignal;
  onDrop?: (key: string) => void;
}

export interface DropPurchaseFilesOutput { dropped: string[]; skipped: string[]; stopped: boolean }

async function sameObject(s3: S3Client, bucket: string, key: string, size: number): Promise<boolean> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return head.ContentLength === size;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw err;
  }
}

export async function dropPurchaseFiles(i: DropPurchaseFilesInput): Promise<DropPurchaseFilesOutput> {
  const prefix = i.prefix ?? DROP_PREFIX;
  const out: DropPurchaseFilesOutput = { dropped: [], skipped: [], stopped: false };
  for (const f of listPurchaseFiles(i.dataDir)) {
    if (i.clock) await sleep(i.clock.msUntil(f.dueAt), i.signal);
    if (i.signal?.aborted) return { ...out, stopped: true };
    const key = prefix + f.name;
    const body = readFileSync(f.path);
    if (await sameObject(i.s3, i.bucket, key, body.length)) {
      out.skipped.push(key);
      continue;
    }
    await putObject(i.s3, i.bucket, key, body, f.name.endsWith('.csv') ? 'text/csv' : 'application/x-ndjson');
    out.dropped.push(key);
    i.onDrop?.(key);
  }
  return out;
}
