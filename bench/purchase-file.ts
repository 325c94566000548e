/** Bench helpers for one purchase file in the drop zone. */
/** A purchase CSV of generator lines (dirt none) repeated up to `rows` lines or `bytes`, order ids made unique per repetition. */
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import type { ActivityDeps } from '../activities';
import { purchaseLoadId, purchaseRawKey, type PurchaseFileRef } from '../activities/files';
import { deletePrefix } from '../lib/s3';
import { generateDataset } from '../shop/generator';

export async function writePurchaseFile(path: string, limit: { rows?: number; bytes?: number }, tag: string, seed = 3): Promise<number> {
  const gen = mkdtempSync(join(tmpdir(), 'bench-purchases-'));
  await generateDataset({ seed, start: '2024-03-01', days: 1, scale: 1, dirt: 'none', out: gen });
  const [header, ...lines] = readFileSync(join(gen, 'purchases', 'purchases_2024-02-29.csv'), 'utf8').trim().split('\n');
  rmSync(gen, { recursive: true, force: true });
  const out = createWriteStream(path);
  out.write(`${header}\n`);
  const more = (rows: number, bytes: number) => rows < (limit.rows ?? Infinity) && bytes < (limit.bytes ?? Infinity);
  let rows = 0;
  let bytes = 0;
  for (let rep = 0; more(rows, bytes); rep++) {
    for (const line of lines) {
      if (!more(rows, bytes)) break;
      const row = line.replace(/\bH(\d+)\b/, `${tag}r${rep}H$1`) + '\n';
      rows++;
      bytes += Buffer.byteLength(row);
      if (!out.write(row)) await once(out, 'drain');
    }
  }
  out.end();
  await once(out, 'finish');
  return rows;
}

/** Deletes what loading `ref` wrote (staging rows, bookkeeping, the raw copy), the drop prefix, and the local folder; closes deps. */
export async function cleanUpPurchaseBench(deps: ActivityDeps & { close(): Promise<void> }, ref: PurchaseFileRef | null | undefined, dropPrefix: string, dir: string): Promise<void> {
  if (ref) {
    const loadId = purchaseLoadId(ref);
    for (const table of ['staging.purchases', 'etl.quarantine', 'etl.files', 'etl.load_pieces', 'etl.loads']) await deps.staging.query(`delete from ${table} where load_id = $1`, [loadId]);
    await deps.s3.send(new DeleteObjectCommand({ Bucket: deps.bucket, Key: purchaseRawKey(ref) }));
  }
  await deletePrefix(deps.s3, deps.bucket, dropPrefix);
  rmSync(dir, { recursive: true, force: true });
  await deps.close();
}
