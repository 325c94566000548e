/**
 * File drops: each purchases/* file is put under the lake's drop prefix on its simulated date.
 * A file's date is the latest OrderDate among its valid lines (any file name is valid, so the name
 * says nothing), and it appears once the clock passes the end of that day (midnight UTC of the
 * next), as a nightly export would. A file without a valid line is due at once. A file already in
 * the bucket with the same size is not uploaded again.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DROP_PREFIX } from '../../lib/lake';
import { putObject } from '../../lib/s3';
import { DatasetError } from '../dataset/dataset-error';
import { openDataset, readPurchaseFile, type PurchaseFile } from '../dataset/read-sources';
import { sleep, type SimClock } from './clock';

const DAY = 86_400_000;

export interface DueFile { name: string; path: string; dueAt: number }

/**
 * When a file is due: the end of the UTC day of its latest valid OrderDate. A file with no valid
 * line, or one the layout cannot read (a broken header: the pipeline quarantines it whole), is
 * due at once: it is still dropped, for the pipeline to judge.
 */
async function dueAt(dataDir: string, file: PurchaseFile): Promise<number> {
  let latest = -Infinity;
  try {
    for await (const r of readPurchaseFile(dataDir, file)) if (r.check.ok) latest = Math.max(latest, r.check.value.orderDate.getTime());
  } catch (err) {
    if (!(err instanceof DatasetError)) throw err;
  }
  return latest === -Infinity ? latest : Math.floor(latest / DAY) * DAY + DAY;
}

/** The purchase files of a dataset, whatever their names, in due order (then by name). */
export async function listPurchaseFiles(dataDir: string): Promise<DueFile[]> {
  const files: DueFile[] = [];
  for (const f of openDataset(dataDir).purchases) files.push({ name: basename(f.path), path: join(dataDir, f.path), dueAt: await dueAt(dataDir, f) });
  return files.sort((a, b) => a.dueAt - b.dueAt || a.name.localeCompare(b.name));
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

function contentType(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.gz') ? 'application/gzip' : lower.endsWith('.csv') ? 'text/csv' : 'application/x-ndjson';
}

export async function dropPurchaseFiles(i: DropPurchaseFilesInput): Promise<DropPurchaseFilesOutput> {
  const prefix = i.prefix ?? DROP_PREFIX;
  const out: DropPurchaseFilesOutput = { dropped: [], skipped: [], stopped: false };
  for (const f of await listPurchaseFiles(i.dataDir)) {
    if (i.clock) await sleep(i.clock.msUntil(f.dueAt), i.signal);
    if (i.signal?.aborted) return { ...out, stopped: true };
    const key = prefix + f.name;
    const body = readFileSync(f.path);
    if (await sameObject(i.s3, i.bucket, key, body.length)) {
      out.skipped.push(key);
      continue;
    }
    await putObject(i.s3, i.bucket, key, body, contentType(f.name));
    out.dropped.push(key);
    i.onDrop?.(key);
  }
  return out;
}
