/**
 * The body of one purchase file's load, run inside runLoad's transaction: the object is streamed
 * record by record; valid lines are merged into staging.purchases in batches, rejected ones go to
 * etl.quarantine and to the lake's quarantine object. Memory stays bounded by one batch.
 */
import type { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { PoolClient } from 'pg';
import { CopyText } from '../../lib/bulk';
import { jsonlUpload } from '../common/jsonl-upload';
import type { LoadCounts } from '../common/loads';
import { quarantine } from '../common/loads';
import type { PurchaseFileKind } from '../../contract/layout';
import { readPurchaseBatches, type SourceRecord } from './reader';
import { mergePurchases } from './merge';
import { validatePurchaseCells, validatePurchaseJson, planHeader, purchaseRow, type HeaderPlan, type PurchaseVerdict } from './validation';
import type { Lake } from '../common/raw';

export interface PurchaseFileLoad {
  client: PoolClient;
  lake: Lake;
  loadId: string;
  key: string;
  kind: PurchaseFileKind;
  body: Readable;
  /** Lake key of the quarantine object (written only if something is rejected). */
  quarantineKey: string;
  batchSize?: number;
  heartbeat?: (line: number) => void;
  /** The file's S3 LastModified: a newer file's line replaces an older one's (merge.ts). */
  fileModifiedAt: string;
}

const QUARANTINE_BATCH = 1000;
// PostgreSQL text cannot hold NUL; such a line is kept with the character spelled out.
const storable = (raw: string) => raw.replace(/\u0000/g, '\\u0000');
// Reasons quote the offending value; the load detail counts them by kind, values left out.
const reasonKind = (reason: string) => reason.replace(/"(?:[^"\\]|\\.)*"/g, '…').slice(0, 120);

export async function loadPurchaseFile(f: PurchaseFileLoad): Promise<LoadCounts> {
  const batchSize = f.batchSize ?? 10_000;
  const lakeOut = jsonlUpload(f.lake, f.quarantineKey);
  const counts = { received: 0, loaded: 0, quarantined: 0, duplicates: 0 };
  let updated = 0;
  const reasons: Record<string, number> = {};
  const extraColumns = new Set<string>();
  let totalMismatch = 0;
  let rows = new CopyText();
  let rejects: Array<{ ref: string; reason: string; raw: string }> = [];
  let header: { line: number; raw: string; plan: HeaderPlan } | null = null;
  let whole: { line: number; raw: string; reason: string } | null = null;

  // One merge runs in PostgreSQL while the next batch is parsed here: the two use different cores.
  // At most two batches are in memory; a failed merge surfaces at the next flush or at the end.
  let merging: Promise<void> = Promise.resolve();
  const flushRows = async () => {
    const batch = rows;
    rows = new CopyText();
    await merging;
    merging = mergePurchases(f.client, batch).then((m) => {
      counts.loaded += m.inserted + m.updated;
      updated += m.updated;
      counts.duplicates += batch.rows - m.inserted - m.updated;
    });
    merging.catch(() => undefined); // awaited at the next flush; this only keeps it from being "unhandled" meanwhile
  };
  const flushRejects = async () => {
    await quarantine(f.client, f.loadId, 'purchases', rejects);
    rejects = [];
  };
  const reject = async (rec: SourceRecord, reason: string, toTable: boolean) => {
    counts.quarantined++;
    reasons[reasonKind(reason)] = (reasons[reasonKind(reason)] ?? 0) + 1;
    await lakeOut.write({ ref: `${f.key}:${rec.line}`, line: rec.line, reason, record: rec.raw });
    if (!toTable) return;
    rejects.push({ ref: `${f.key}:${rec.line}`, reason, raw: storable(rec.raw) });
    if (rejects.length >= QUARANTINE_BATCH) await flushRejects();
  };

  try {
    for await (const batch of readPurchaseBatches(f.body, f.kind)) {
      // A turn of the event loop per chunk: the merge's round trips (create, COPY, insert) would
      // otherwise queue behind bursts of parsing many buffered chunks long, and PostgreSQL idles.
      await nextTurn();
      for (const rec of batch) {
        if (f.kind.format === 'csv' && !header && !whole) {
          const verdict = 'cells' in rec ? planHeader(rec.cells) : { ok: false as const, reason: `header unreadable: ${'broken' in rec ? rec.broken : 'no cells'}` };
          if (verdict.ok) header = { line: rec.line, raw: rec.raw, plan: verdict.plan };
          else whole = { line: rec.line, raw: rec.raw, reason: verdict.reason };
          continue;
        }
        counts.received++;
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
          if (judged.value.totalMismatch) totalMismatch++;
          if (judged.extra) for (const k of Object.keys(judged.extra)) if (extraColumns.size < 50) extraColumns.add(k);
          rows.add(purchaseRow(judged.value, judged.extra, f.key, rec.line, f.loadId, f.fileModifiedAt));
          if (rows.rows >= batchSize) await flushRows();
        }
        if (counts.received % batchSize === 0) f.heartbeat?.(rec.line);
      }
    }
    await flushRows();
    await merging;
    if (whole) {
      const reason = `file quarantined whole: ${whole.reason}; its ${counts.received} data lines are counted as quarantined and listed in s3://${f.lake.bucket}/${f.quarantineKey}. Fix the header (or add an alias in contract/layout.ts PURCHASE_ALIASES) and drop the file again.`;
      rejects.push({ ref: `${f.key}:${whole.line}`, reason, raw: storable(whole.raw) });
    }
    await flushRejects();
    const written = await lakeOut.end();
    return {
      ...counts,
      detail: {
        file: f.key, format: f.kind.format, gzip: f.kind.gzip, header: header?.plan.names ?? null, renamed: header?.plan.renamed ?? {},
        extraColumns: header ? header.plan.extra : [...extraColumns], totalMismatch, quarantinedWhole: whole?.reason ?? null,
        quarantineKey: written?.key ?? null, reasons, updated,
      },
    };
  } catch (err) {
    await merging.catch(() => undefined); // the client must be idle before runLoad rolls back
    await lakeOut.abort();
    throw err;
  }
}
