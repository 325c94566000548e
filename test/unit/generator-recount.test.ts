/**
 * Re-counts every planted defect by reading the generated files with simple, independent logic and
 * checks the manifest agrees exactly: the manifest is what reconciliation tests will trust.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../shop/dataset/manifest';
import { checkEvent, checkPurchase, checkPurchaseCells } from '../../shop/dataset/records';
import { normaliseText } from '../../shop/dataset/rules';
import { generateDataset } from '../../shop/generator';

let dir: string;
let manifest: Manifest;
const lines = (file: string) => readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l !== '');
const stats = (file: string) => manifest.files[file] ?? expect.fail(`${file} missing from manifest`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gen-recount-'));
  ({ manifest } = await generateDataset({ seed: 42, start: '2024-03-01', days: 3, scale: 0.05, dirt: 'heavy', out: dir }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('manifest counts match the files', () => {
  it('purchase files: invalid, duplicates, mismatched totals, accepted date formats', () => {
    const files = readdirSync(join(dir, 'purchases')).map((f) => `purchases/${f}`);
    expect(files.length).toBe(6);
    for (const file of files) {
      const body = lines(file);
      const csv = file.endsWith('.csv');
      const header = csv ? (body.shift() ?? '').split(',') : [];
      const seen = new Set<string>();
      let invalid = 0, duplicates = 0, mismatched = 0, altDates = 0;
      for (const text of body) {
        let check;
        if (csv) check = checkPurchaseCells(header, text.split(','));
        else {
          try {
            check = checkPurchase(JSON.parse(text) as Record<string, unknown>);
          } catch {
            invalid++;
            continue;
          }
        }
        if (!check.ok) { invalid++; continue; }
        const key = `${check.value.orderId}|${check.value.productId}`;
        if (seen.has(key)) { duplicates++; continue; }
        seen.add(key);
        if (check.value.totalMismatch) mismatched++;
        const raw = csv ? text.split(',')[2] : (JSON.parse(text) as { OrderDate: string }).OrderDate;
        if (!/^\d{4}-\d{2}-\d{2}$/.test(raw ?? '')) altDates++;
      }
      const s = stats(file);
      expect({ file, rows: body.length, invalid, duplicates, mismatched, altDates }).toEqual({
        file, rows: s.rows, invalid: s.invalid, duplicates: s.duplicates, mismatched: s.defects.total_mismatch, altDates: s.defects.accepted_date_format,
      });
    }
    expect(manifest.totals.invalid).toBeGreaterThan(0);
  });

  it('schema change: exactly the listed files carry Qty and Currency', () => {
    const change = manifest.schemaChange ?? expect.fail('heavy plants a schema change');
    for (const file of Object.keys(manifest.files).filter((f) => f.startsWith('purchases/'))) {
      const first = lines(file)[0] ?? '';
      expect(first.includes('Qty') && first.includes('Currency'), file).toBe(change.files.includes(file));
    }
  });

  it('events: invalid, duplicates by event_id, late and out-of-order by running max', () => {
    const seen = new Set<string>();
    let invalid = 0, duplicates = 0, late = 0, outOfOrder = 0, max = -Infinity;
    const body = lines('events.jsonl');
    for (const text of body) {
      const check = checkEvent(JSON.parse(text) as Record<string, unknown>);
      if (!check.ok) { invalid++; continue; }
      if (seen.has(check.value.eventId)) { duplicates++; continue; }
      seen.add(check.value.eventId);
      const ts = check.value.ts.getTime();
      if (max - ts >= 3_600_000) late++;
      else if (max - ts > 0) outOfOrder++;
      max = Math.max(max, ts);
    }
    const s = stats('events.jsonl');
    expect({ rows: body.length, invalid, duplicates, late, outOfOrder }).toEqual({ rows: s.rows, invalid: s.invalid, duplicates: s.duplicates, late: s.defects.late_event, outOfOrder: s.defects.out_of_order_event });
    expect(late * outOfOrder * duplicates * invalid).toBeGreaterThan(0);
  });

  it('orders: duplicates by order_id+updated_at; versions move forward in time', () => {
    const seen = new Set<string>();
    const lastUpdate = new Map<string, string>();
    let duplicates = 0;
    for (const text of lines('orders.jsonl')) {
      const o = JSON.parse(text) as { order_id: string; updated_at: string };
      const key = `${o.order_id}|${o.updated_at}`;
      if (seen.has(key)) { duplicates++; continue; }
      seen.add(key);
      expect(o.updated_at > (lastUpdate.get(o.order_id) ?? '')).toBe(true);
      lastUpdate.set(o.order_id, o.updated_at);
    }
    expect(duplicates).toBe(stats('orders.jsonl').duplicates);
  });

  it('products and users: text needing normalisation', () => {
    const dirty = (s: string) => s !== normaliseText(s) || (/[a-z]/i.test(s) && (s === s.toUpperCase() || s === s.toLowerCase()));
    for (const [file, cols] of [['products.csv', [1, 2]], ['users.csv', [1]]] as const) {
      const rows = lines(file).slice(1).map((l) => l.split(','));
      const count = rows.filter((r) => cols.some((c) => dirty(r[c] ?? ''))).length;
      const d = stats(file).defects;
      expect(count, file).toBe(d.text_case + d.text_whitespace + d.text_unicode);
    }
  });

  it('totals are the sum over files', () => {
    const sum = Object.values(manifest.files).reduce((a, s) => a + s.rows, 0);
    expect(manifest.totals.rows).toBe(sum);
  });
});
