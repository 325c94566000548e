/**
 * The body of one purchase file's load, run by runPieceLoad: the object is streamed record by
 * record; valid lines are merged into staging.purchases in batches, rejected ones go to
 * etl.quarantine and to the lake's quarantine object, and every `pieceLines` lines what is loaded
 * commits as a piece that a retried attempt goes on after. Memory stays bounded by one batch.
 */
import type { Readable } from 'node:stream';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { PoolClient } from 'pg';
import { jsonlUpload } from '../common/jsonl-upload';
import type { LoadCounts, LoadPiece, PieceLoad } from '../common/loads';
import { quarantine } from '../common/loads';
import type { PurchaseFileKind } from '../../contract/layout';
import { readPurchaseBatches, readsWhole, type ReaderState, type SourceRecord } from './reader';
import type { Utf16 } from './utf16';
import { mergePurchases, purchaseRows } from './merge';
import { validatePurchaseCells, validatePurchaseJson, planHeader, purchaseRow, type HeaderPlan, type PurchaseVerdict } from './validation';
import type { Lake } from '../common/raw';

export interface PurchaseFileLoad {
  client: PoolClient;
  lake: Lake;
  loadId: string;
  key: string;
  kind: PurchaseFileKind;
  /** The file's bytes from where the load goes on (all of them for a gzip or UTF-16 file: see readPurchaseBatches). */
  body: Readable;
  /** Lake key of the quarantine object (written only if something is rejected); later pieces add `.piece-N`. */
  quarantineKey: string;
  batchSize?: number;
  heartbeat?: (line: number) => void;
  /** The file's S3 LastModified: a newer file's line replaces an older one's (merge.ts). */
  fileModifiedAt: string;
  /**
   * Commits what is loaded so far as one piece (runPieceLoad). Without it the file is one
   * transaction. A piece is cut at the first batch boundary after `pieceLines` source lines.
   */
  commitPiece?: PieceLoad['commitPiece'];
  pieceLines?: number;
  /** Pieces committed by earlier attempts: reading goes on after the last. */
  done?: readonly LoadPiece[];
}

/**
 * Where a load resumed after `done` reads from: past the last committed piece, a plain file from
 * there (`range`, a ranged GET); a gzip or UTF-16 file whole (its offsets are of decompressed or
 * transcoded bytes: see readPurchaseBatches).
 */
export function resumeRead(kind: PurchaseFileKind, done: readonly LoadPiece[]): { from: number; range?: string } {
  const last = done[done.length - 1];
  if (!last) return { from: 0 };
  const state = fromJsonb<Partial<PieceState>>(last.state);
  return readsWhole(kind, state) ? { from: last.endByte } : { from: last.endByte, range: `bytes=${last.endByte}-` };
}

/** A piece's state: what reading after its end needs to know of the lines before. */
interface PieceState {
  headerWidth: number | null;
  badUtf8: boolean;
  /** A UTF-16 file: offsets are of its transcoded bytes, and a resume reads it whole (reader.ts readsWhole). */
  encoding?: Utf16;
  header: { line: number; raw: string; cells: string[] } | null;
  whole: { line: number; raw: string; reason: string } | null;
}

/** What one piece (or the whole load) counted. */
interface Tally { counts: Omit<LoadCounts, 'detail'>; updated: number; reasons: Record<string, number>; extraColumns: string[]; totalMismatch: number; copiedDirectly: number }

const emptyTally = (): Tally => ({ counts: { received: 0, loaded: 0, quarantined: 0, duplicates: 0 }, updated: 0, reasons: {}, extraColumns: [], totalMismatch: 0, copiedDirectly: 0 });

function addTally(a: Tally, b: Tally): Tally {
  const reasons = { ...a.reasons };
  for (const [k, n] of Object.entries(b.reasons)) reasons[k] = (reasons[k] ?? 0) + n;
  return {
    counts: { received: a.counts.received + b.counts.received, loaded: a.counts.loaded + b.counts.loaded, quarantined: a.counts.quarantined + b.counts.quarantined, duplicates: a.counts.duplicates + b.counts.duplicates },
    updated: a.updated + b.updated, reasons, totalMismatch: a.totalMismatch + b.totalMismatch, copiedDirectly: a.copiedDirectly + b.copiedDirectly,
    extraColumns: [...new Set([...a.extraColumns, ...b.extraColumns])].slice(0, 50),
  };
}

/** The tally a committed piece recorded (its detail holds the rest). */
function pieceTally(p: LoadPiece): Tally & { quarantineKey: string | null } {
  const d = (p.counts.detail ?? {}) as Partial<Tally & { quarantineKey: string | null }>;
  const { received, loaded, quarantined, duplicates } = p.counts;
  return {
    counts: { received, loaded, quarantined, duplicates }, updated: d.updated ?? 0, reasons: d.reasons ?? {}, extraColumns: d.extraColumns ?? [], totalMismatch: d.totalMismatch ?? 0,
    copiedDirectly: d.copiedDirectly ?? 0, quarantineKey: d.quarantineKey ?? null,
  };
}

export const DEFAULT_PIECE_LINES = 1_000_000;

// jsonb cannot hold U+0000 (a header may): such a string is kept in a piece's row as { nul: base64 }.
const NUL = '\u0000';
const toJsonb = <T>(v: T): T => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'string' && x.includes(NUL) ? { nul: Buffer.from(x).toString('base64') } : x))) as T;
const fromJsonb = <T>(v: unknown): T => JSON.parse(JSON.stringify(v), (_k, x: unknown) => {
  const o = x as { nul?: unknown } | null;
  return o && typeof o === 'object' && !Array.isArray(o) && typeof o.nul === 'string' && Object.keys(o).length === 1 ? Buffer.from(o.nul, 'base64').toString('utf8') : x;
}) as T;

/** The lake key of piece `n`'s rejects: the load's key for the first, `.piece-N` added for later ones. */
export const pieceQuarantineKey = (key: string, n: number) => (n === 1 ? key : key.replace(/(\.jsonl)?$/, `.piece-${n}$1`));

const QUARANTINE_BATCH = 1000;
/**
 * Direct COPYs (mergePurchases) per transaction at most. Each leaves a committed subtransaction
 * behind until the piece commits, and past 64 of them PostgreSQL's per-backend cache overflows:
 * every other session's snapshot then looks this transaction's subtransactions up in pg_subtrans.
 * So while a load copies directly, its batches are large enough for a piece's lines to need no
 * more (a million lines: 20,834 a batch); the batches past them (a piece runs on to the end of the
 * reader's chunk, and a transaction without pieces has no end) merge.
 */
export const DIRECT_BATCHES_PER_TRANSACTION = 48;
const MAX_DIRECT_BATCH = 50_000;
// PostgreSQL text cannot hold NUL; such a line is kept with the character spelled out.
const storable = (raw: string) => raw.replace(/\u0000/g, '\\u0000');
// Reasons quote the offending value; the load detail counts them by kind, values left out.
const reasonKind = (reason: string) => storable(reason.replace(/"(?:[^"\\]|\\.)*"/g, '…').slice(0, 120));

export async function loadPurchaseFile(f: PurchaseFileLoad): Promise<LoadCounts> {
  const batchSize = f.batchSize ?? 10_000;
  const pieceLines = f.pieceLines ?? DEFAULT_PIECE_LINES;
  // Direct batches are larger, so that a piece's lines (up to the end of the reader's chunk after
  // them: the rest of the piece merges) fit in its transaction's direct COPYs; at most 50,000 lines,
  // two of which are in memory (a 2 GB file's peak RSS is the goal, issue 12 P6).
  const directBatchSize = Math.max(batchSize, Math.min(MAX_DIRECT_BATCH, Math.ceil(pieceLines / DIRECT_BATCHES_PER_TRANSACTION)));
  const done = f.done ?? [];
  const last = done[done.length - 1];
  const resumed = last ? fromJsonb<PieceState>(last.state) : null;
  let pieceNo = done.length + 1;
  // An earlier attempt may have completed this piece's rejects object and died before the piece
  // committed; where this attempt cuts the piece (and so what it rejects) can differ.
  await f.lake.s3.send(new DeleteObjectCommand({ Bucket: f.lake.bucket, Key: pieceQuarantineKey(f.quarantineKey, pieceNo) }));
  let lakeOut = jsonlUpload(f.lake, pieceQuarantineKey(f.quarantineKey, pieceNo));
  // Earlier pieces' tallies, and this piece's as it grows.
  let prior = done.map(pieceTally).reduce(addTally, emptyTally());
  const quarantineKeys = done.map((p) => pieceTally(p).quarantineKey).filter((k): k is string => k !== null);
  let cur = emptyTally();
  const extraColumns = new Set<string>();
  const file = { sourceFile: f.key, loadId: f.loadId, fileModifiedAt: f.fileModifiedAt };
  let rows = purchaseRows(file);
  let rejects: Array<{ ref: string; reason: string; raw: string }> = [];
  const headerOf = (h: PieceState['header']) => {
    if (!h) return null;
    const verdict = planHeader(h.cells);
    if (!verdict.ok) throw new Error(`${f.loadId}: the header recorded with piece ${done.length} no longer plans (${verdict.reason})`);
    return { ...h, plan: verdict.plan };
  };
  let header: { line: number; raw: string; cells: string[]; plan: HeaderPlan } | null = headerOf(resumed?.header ?? null);
  let whole: { line: number; raw: string; reason: string } | null = resumed?.whole ?? null;
  const reader: ReaderState = last ? { byte: last.endByte, line: last.endLine, headerWidth: resumed?.headerWidth ?? null, badUtf8: resumed?.badUtf8 ?? false, encoding: resumed?.encoding } : { byte: 0, line: 0 };

  // One merge runs in PostgreSQL while the next batch is parsed here: the two use different cores.
  // At most two batches are in memory; a failed merge surfaces at the next flush or at the end.
  let merging: Promise<void> = Promise.resolve();
  // A batch goes straight into staging.purchases (mergePurchases' `direct`) while the file has met
  // no stored key: its keys are distinct (batchKeys), no direct COPY of this load has failed yet (a
  // re-sent or corrected file fails its first and is merged from then on), and the piece's
  // transaction has savepoints to spare (directLeft).
  let batchKeys = new Set<string>();
  let batchRepeats = false;
  let directOff = false;
  let directLeft = DIRECT_BATCHES_PER_TRANSACTION;
  const flushRows = async () => {
    if (rows.rows === 0) return; // an empty batch must not count as a direct COPY that failed
    const batch = rows;
    const repeats = batchRepeats;
    rows = purchaseRows(file);
    batchKeys = new Set();
    batchRepeats = false;
    await merging; // the batch before may have turned the direct COPY off
    const into = cur;
    const direct = !directOff && !repeats && directLeft > 0;
    if (direct) directLeft--;
    merging = mergePurchases(f.client, batch, { direct }).then((m) => {
      if (direct && !m.direct) directOff = true;
      if (m.direct) into.copiedDirectly += m.inserted;
      into.counts.loaded += m.inserted + m.updated;
      into.updated += m.updated;
      into.counts.duplicates += batch.rows - m.inserted - m.updated;
    });
    merging.catch(() => undefined); // awaited at the next flush; this only keeps it from being "unhandled" meanwhile
  };
  // Rejects share the client with the merges, so they go in the same chain: a quarantine insert
  // sent while a batch's direct COPY runs would land inside its savepoint (and be rolled back with
  // it) or in the aborted transaction before the rollback. At most one write is in flight.
  const flushRejects = async () => {
    const recs = rejects;
    rejects = [];
    if (recs.length === 0) return;
    await merging;
    merging = quarantine(f.client, f.loadId, 'purchases', recs);
    merging.catch(() => undefined); // awaited at the next flush, as a merge is
  };
  const reject = async (rec: SourceRecord, reason: string, toTable: boolean) => {
    cur.counts.quarantined++;
    cur.reasons[reasonKind(reason)] = (cur.reasons[reasonKind(reason)] ?? 0) + 1;
    await lakeOut.write({ ref: `${f.key}:${rec.line}`, line: rec.line, reason, record: rec.raw });
    if (!toTable) return;
    rejects.push({ ref: `${f.key}:${rec.line}`, reason, raw: storable(rec.raw) });
    if (rejects.length >= QUARANTINE_BATCH) await flushRejects();
  };
  // Everything read so far is written; the piece's tally is final.
  const settle = async () => {
    await flushRows();
    await flushRejects();
    await merging;
    const written = await lakeOut.end();
    if (written) quarantineKeys.push(written.key);
    cur.extraColumns = header ? [] : [...extraColumns];
    return written?.key ?? null;
  };

  try {
    for await (const batch of readPurchaseBatches(f.body, f.kind, reader)) {
      // A turn of the event loop per chunk: the merge's round trips (create, COPY, insert) would
      // otherwise queue behind bursts of parsing many buffered chunks long, and PostgreSQL idles.
      await nextTurn();
      for (const rec of batch) {
        if (f.kind.format === 'csv' && !header && !whole) {
          const verdict = 'cells' in rec ? planHeader(rec.cells) : { ok: false as const, reason: `header unreadable: ${'broken' in rec ? rec.broken : 'no cells'}` };
          if (verdict.ok) header = { line: rec.line, raw: rec.raw, cells: 'cells' in rec ? rec.cells : [], plan: verdict.plan };
          else whole = { line: rec.line, raw: rec.raw, reason: verdict.reason };
          continue;
        }
        cur.counts.received++;
        if (whole) {
          await reject(rec, `file quarantined whole: ${whole.reason}`, false);
          continue;
        }
        const judged: PurchaseVerdict = 'broken' in rec ? { ok: false, reason: rec.broken }
          : 'cells' in rec ? validatePurchaseCells((header as { plan: HeaderPlan }).plan, rec.cells)
          : validatePurchaseJson(rec.value);
        if (!judged.ok) {
          await reject(rec, judged.reason, true);
        } else {
          if (judged.value.totalMismatch) cur.totalMismatch++;
          if (judged.extra) for (const k of Object.keys(judged.extra)) if (extraColumns.size < 50) extraColumns.add(k);
          rows.add(purchaseRow(judged.value, judged.extra, rec.line));
          if (!directOff) {
            const key = `${judged.value.orderId}\u0000${judged.value.productId}`;
            if (batchKeys.has(key)) batchRepeats = true;
            else batchKeys.add(key);
          }
          if (rows.rows >= (directOff || directLeft === 0 ? batchSize : directBatchSize)) await flushRows();
        }
        if ((prior.counts.received + cur.counts.received) % batchSize === 0) f.heartbeat?.(rec.line);
      }
      const end = batch[batch.length - 1]?.next;
      if (f.commitPiece && end && cur.counts.received >= pieceLines) {
        const quarantineKey = await settle();
        const state: PieceState = { headerWidth: reader.headerWidth ?? null, badUtf8: reader.badUtf8 ?? false, encoding: reader.encoding, header: header && { line: header.line, raw: header.raw, cells: header.cells }, whole };
        const { updated, reasons, totalMismatch, copiedDirectly } = cur;
        await f.commitPiece({ endLine: end.line, endByte: end.byte, state: toJsonb({ ...state }), counts: { ...cur.counts, detail: toJsonb({ updated, reasons, totalMismatch, copiedDirectly, extraColumns: cur.extraColumns, quarantineKey }) } });
        prior = addTally(prior, cur);
        cur = emptyTally();
        directLeft = DIRECT_BATCHES_PER_TRANSACTION;
        lakeOut = jsonlUpload(f.lake, pieceQuarantineKey(f.quarantineKey, ++pieceNo));
      }
    }
    if (whole) {
      const reason = `file quarantined whole: ${whole.reason}; its ${prior.counts.received + cur.counts.received} data lines are counted as quarantined and listed in s3://${f.lake.bucket}/${f.quarantineKey}${pieceNo > 1 ? ` and its .piece-N objects` : ''}. Fix the header (or add an alias in contract/layout.ts PURCHASE_ALIASES) and drop the file again.`;
      rejects.push({ ref: `${f.key}:${whole.line}`, reason, raw: storable(whole.raw) });
    }
    await settle();
    const total = addTally(prior, cur);
    const pieces = cur.counts.received > 0 || pieceNo === 1 ? pieceNo : pieceNo - 1; // the last commit may hold no lines
    return {
      ...total.counts,
      detail: {
        file: f.key, format: f.kind.format, gzip: f.kind.gzip, header: header?.plan.names ?? null, renamed: header?.plan.renamed ?? {},
        extraColumns: header ? header.plan.extra : total.extraColumns, totalMismatch: total.totalMismatch, quarantinedWhole: whole?.reason ?? null,
        quarantineKey: quarantineKeys.length <= 1 ? (quarantineKeys[0] ?? null) : null, ...(pieces > 1 ? { quarantineKeys, pieces } : {}),
        reasons: total.reasons, updated: total.updated,
        // Of the loaded lines, those stored by a direct COPY (mergePurchases); the rest went through the upsert.
        copiedDirectly: total.copiedDirectly,
      },
    };
  } catch (err) {
    await merging.catch(() => undefined); // the client must be idle before runLoad rolls back
    await lakeOut.abort();
    throw err;
  }
}
