/**
 * The files pipeline's activities: find purchase files dropped under the drop prefix that are not
 * loaded yet, and load one file exactly once. A file is its object key plus ETag. Its lines commit
 * in pieces (a million source lines each by default, etl.load_pieces), each with its quarantined
 * lines; the last piece's transaction also writes its etl.files row and its etl.loads record. A
 * retried attempt goes on after the last committed piece, and a repeated run finds the load done
 * and changes nothing.
 */
import { Readable } from 'node:stream';
import { CopyObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { attempt, heartbeat, whileAlive } from '../common/heartbeat';
import type { Pool } from 'pg';
import { BadDataError, rethrowClassified } from '../../lib/errors';
import { DROP_PREFIX, lakeKey, safeName, utcDate } from '../../lib/lake';
import { listObjects } from '../../lib/s3';
import { PURCHASE_EXTENSIONS } from '../../contract/layout';
import type { LoadSummary } from '../../contract/pipeline';
import { runPieceLoad } from '../common/loads';
import { loadPurchaseFile, resumeRead } from './load';
import { recordIgnoredFiles } from './ignored';
import { formatOf } from './reader';
import { quarantineKey } from '../common/quarantine';

export interface FilesDeps { staging: Pool; s3: S3Client; bucket: string }

/** One dropped object, as listed. `etag` identifies its content: a replaced file is a new file. */
export interface PurchaseFileRef { key: string; etag: string; size: number; lastModified: string }

/** `before` (ISO) closes the run's window: files landing later are left to the next run. */
export interface ListNewPurchaseFilesInput { dropPrefix?: string; before?: string; maxFiles?: number }
export interface ListNewPurchaseFilesOutput { files: PurchaseFileRef[]; ignored: string[]; more: boolean }

export interface IngestPurchaseFileInput {
  file: PurchaseFileRef;
  partitionStart?: string;
  partitionEnd?: string;
  batchSize?: number;
  /** Source lines per committed piece (default DEFAULT_PIECE_LINES): a retry resumes after the last one. */
  pieceLines?: number;
  /** Rebuild from the lake (activities/rebuild): read this raw copy instead of the dropped object, and make no copy. */
  fromRaw?: string;
}
/** `load` is null only when the object changed or disappeared since it was listed (`vanished` says how). */
export interface IngestPurchaseFileOutput { key: string; load: LoadSummary | null; vanished?: string }

class Vanished extends Error {}

export function purchaseLoadId(file: Pick<PurchaseFileRef, 'key' | 'etag'>): string {
  return `files/${file.key}@${file.etag}`;
}

/**
 * The lake partition of a file: the UTC day it landed (was received). Any file name is valid, so
 * the name says nothing about dates; the lines' own OrderDates go to staging.
 */
export function purchaseFileDate(file: Pick<PurchaseFileRef, 'lastModified'>): string {
  return utcDate(file.lastModified);
}

/**
 * The raw copy's user metadata: the dropped object's key, ETag and LastModified, so a rebuild from
 * the lake loads it as the same file (same load id, source_file and correction order).
 */
export const RAW_SOURCE_META = { key: 'etl-source-key', etag: 'etl-source-etag', lastModified: 'etl-source-last-modified' } as const;

/** S3 allows 2 KB of user metadata in all: a key too long to fit is left out (a rebuild then lists the file as inexact). */
const METADATA_BYTES = 1800;

/**
 * The raw copy's headers: the dropped object's own (content type and encoding, cache control, user
 * metadata) plus where it came from (RAW_SOURCE_META), when that fits.
 */
export function rawCopyHeaders(file: PurchaseFileRef, obj: { ContentType?: string; ContentEncoding?: string; CacheControl?: string; Metadata?: Record<string, string> }) {
  const ours = { [RAW_SOURCE_META.key]: encodeURIComponent(file.key), [RAW_SOURCE_META.etag]: file.etag, [RAW_SOURCE_META.lastModified]: file.lastModified };
  const theirs = obj.Metadata ?? {};
  const size = (m: Record<string, string>) => Object.entries(m).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  const Metadata = size({ ...theirs, ...ours }) <= METADATA_BYTES ? { ...theirs, ...ours } : theirs;
  return { MetadataDirective: 'REPLACE' as const, Metadata, ContentType: obj.ContentType, ContentEncoding: obj.ContentEncoding, CacheControl: obj.CacheControl };
}

/** Immutable raw copy: the ETag in the name keeps a re-dropped, changed file from overwriting it. */
export function purchaseRawKey(file: PurchaseFileRef): string {
  const base = file.key.slice(file.key.lastIndexOf('/') + 1);
  const ext = PURCHASE_EXTENSIONS.filter((e) => base.toLowerCase().endsWith(e)).sort((a, b) => b.length - a.length)[0] ?? '';
  const stem = base.slice(0, base.length - ext.length);
  return lakeKey('raw', 'purchases', purchaseFileDate(file), safeName(`${stem}.${file.etag}${base.slice(base.length - ext.length)}`));
}


const status = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

export function createFilesActivities({ staging, s3, bucket }: FilesDeps) {
  return {
    async listNewPurchaseFiles(input: ListNewPurchaseFilesInput): Promise<ListNewPurchaseFilesOutput> {
      const prefix = input.dropPrefix ?? DROP_PREFIX;
      const before = input.before ? Date.parse(input.before) : Infinity;
      try {
        const listed = await listObjects(s3, bucket, prefix);
        const ignored = listed.filter((o) => !formatOf(o.key) && !o.key.endsWith('/'));
        await recordIgnoredFiles(staging, ignored);
        const candidates = listed.filter((o) => formatOf(o.key) && (o.lastModified?.getTime() ?? 0) < before);
        const { rows } = await staging.query<{ object_key: string; etag: string }>(
          `select f.object_key, f.etag from etl.files f join unnest($1::text[], $2::text[]) as c(k, e) on f.object_key = c.k and f.etag = c.e`,
          [candidates.map((c) => c.key), candidates.map((c) => c.etag)],
        );
        const loaded = new Set(rows.map((r) => `${r.object_key}\u0000${r.etag}`));
        const fresh = candidates
          .filter((c) => !loaded.has(`${c.key}\u0000${c.etag}`))
          .map((c) => ({ key: c.key, etag: c.etag, size: c.size, lastModified: (c.lastModified ?? new Date(0)).toISOString() }))
          .sort((a, b) => a.key.localeCompare(b.key));
        const max = input.maxFiles ?? 200;
        return { files: fresh.slice(0, max), ignored: ignored.slice(0, 20).map((o) => o.key), more: fresh.length > max };
      } catch (err) {
        rethrowClassified(err, `files: listing s3://${bucket}/${prefix}`);
      }
    },

    async ingestPurchaseFile(input: IngestPurchaseFileInput): Promise<IngestPurchaseFileOutput> {
      const { file } = input;
      const kind = formatOf(file.key);
      const where = `files: loading s3://${bucket}/${file.key} (ETag ${file.etag})`;
      const loadId = purchaseLoadId(file);
      const dt = purchaseFileDate(file);
      // A timer, not only per batch: the raw copy, a big merge or waiting for a racing run's lock are long silences too.
      let line = 0;
      return whileAlive(async () => {
        try {
          if (!kind) throw new BadDataError(`${file.key} does not end in ${PURCHASE_EXTENSIONS.join(', ')}: rename it or drop it elsewhere`, file.key);
          const meta = { loadId, pipeline: 'files', source: 'purchases', partitionStart: input.partitionStart, partitionEnd: input.partitionEnd };
          const load = await runPieceLoad(staging, meta, attempt(), async ({ client, done, commitPiece }) => {
            // Past the last committed piece: a plain file is read from there (a ranged GET); a gzip or
            // UTF-16 file is read whole (resumeRead). A resumed load reads the raw copy, made before
            // its first piece: the dropped object may have been replaced or deleted since, but the
            // load goes on with the bytes it began with.
            const { from, range } = resumeRead(kind, done);
            const rawKey = input.fromRaw ?? purchaseRawKey(file);
            let body: Readable;
            if (range && from >= file.size) {
              body = Readable.from([]); // the pieces reached the end: only the load's own commit is left
            } else if (done.length > 0 || input.fromRaw) {
              body = (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: rawKey, Range: range }))).Body as Readable;
            } else {
              // IfMatch: the bytes parsed are exactly the listed version, or the attempt stops here.
              const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: file.key, IfMatch: file.etag })).catch((err: unknown) => {
                if (status(err) === 404 || status(err) === 412) throw new Vanished(`${status(err) === 404 ? 'deleted' : 'replaced'} since it was listed`);
                throw err;
              });
              body = obj.Body as Readable;
              // The raw copy, before any piece commits: a committed piece implies it exists.
              const source = `${bucket}/${file.key.split('/').map(encodeURIComponent).join('/')}`;
              await s3.send(new CopyObjectCommand({
                Bucket: bucket, Key: rawKey, CopySource: source, CopySourceIfMatch: file.etag, ...rawCopyHeaders(file, obj),
              })).catch((err: unknown) => {
                body.destroy();
                if (status(err) === 404 || status(err) === 412) throw new Vanished(`${status(err) === 404 ? 'deleted' : 'replaced'} since it was listed`);
                throw err;
              });
            }
            const counts = await loadPurchaseFile({
              client, lake: { s3, bucket }, loadId, key: file.key, kind, body, batchSize: input.batchSize, fileModifiedAt: file.lastModified,
              quarantineKey: quarantineKey({ source: 'purchases', dt, loadId }), commitPiece, done, pieceLines: input.pieceLines,
              heartbeat: (at) => {
                line = at;
                heartbeat({ key: file.key, line });
              },
            }).finally(() => body.destroy()); // a failed attempt must not leave the download's socket open
            await client.query('insert into etl.files (object_key, etag, load_id) values ($1, $2, $3) on conflict do nothing', [file.key, file.etag, loadId]);
            const resumedAt = done.length ? { resumedAfterPiece: done.length, resumedAtLine: done[done.length - 1]?.endLine } : {};
            return { ...counts, detail: { ...counts.detail, etag: file.etag, bytes: file.size, dt, rawKey, ...resumedAt } };
          });
          return { key: file.key, load };
        } catch (err) {
          if (err instanceof Vanished) return { key: file.key, load: null, vanished: err.message };
          rethrowClassified(err, `${where}; the file stays unloaded and the next run retries it`);
        }
      }, () => ({ key: file.key, line }), 10_000);
    },
  };
}

export type FilesActivities = ReturnType<typeof createFilesActivities>;
