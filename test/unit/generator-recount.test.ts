/**
 * Re-counts every planted defect by reading the generated files with rules of its own
 * (test/support/recount-rules.ts, written from MISSION.md, sharing no code with shop/dataset) and
 * checks the manifest agrees exactly, kind by kind: the manifest is what reconciliation tests trust.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../contract/manifest';
import { generateDataset } from '../../shop/generator';
import { csvCells, eventVerdict, INVALID, jsonObject, purchaseVerdict, tidy, type Invalid, type Verdict } from '../support/recount-rules';

let dir: string;
let manifest: Manifest;
const lines = (file: string) => readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l !== '');
const stats = (file: string) => manifest.files[file] ?? expect.fail(`${file} missing from manifest`);
const noKinds = () => Object.fromEntries(INVALID.map((k) => [k, 0])) as Record<Invalid, number>;
/** The manifest's count of each invalid kind of a file, 0 for the kinds it has no name for. */
const plantedKinds = (file: string) => {
  const d: Partial<Record<string, number>> = stats(file).defects;
  return Object.fromEntries(INVALID.map((k) => [k, d[k] ?? 0])) as Record<Invalid, number>;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gen-recount-'));
  ({ manifest } = await generateDataset({ seed: 42, start: '2024-03-01', days: 3, scale: 0.1, dirt: 'heavy', out: dir }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('manifest counts match the files', () => {
  it('purchase files: invalid by kind, duplicates, mismatched totals, accepted date formats', () => {
    const files = readdirSync(join(dir, 'purchases')).map((f) => `purchases/${f}`);
    expect(files.length).toBe(6);
    // The declared rename, read backwards: alias -> canonical column.
    const seenKinds = noKinds();
    const canonical = Object.fromEntries(Object.entries(manifest.schemaChange?.renamed ?? {}).map(([from, to]) => [to, from]));
    for (const file of files) {
      const body = lines(file);
      const csv = file.endsWith('.csv');
      const header = csv ? (csvCells(body.shift() ?? '') ?? []).map((h) => canonical[h.trim()] ?? h.trim()) : [];
      const seen = new Set<string>();
      const kinds = noKinds();
      let duplicates = 0, mismatched = 0, altDates = 0;
      for (const text of body) {
        const cells = csv ? csvCells(text) : null;
        const record = csv ? (cells && cells.length === header.length ? Object.fromEntries(header.map((h, i) => [h, cells[i]])) : null) : jsonObject(text);
        const r = record && !csv ? Object.fromEntries(Object.entries(record).map(([k, v]) => [canonical[k] ?? k, v])) : record;
        const verdict: Verdict & { totalMismatch?: boolean } = r ? purchaseVerdict(r) : { ok: false, kind: csv ? 'wrong_column_count' : 'malformed_json' };
        if (!verdict.ok || !r) { kinds[verdict.ok ? 'malformed_json' : verdict.kind]++; continue; }
        const key = `${String(r.OrderID).trim()}|${String(r.ProductID).trim()}`;
        if (seen.has(key)) { duplicates++; continue; }
        seen.add(key);
        if (verdict.totalMismatch) mismatched++;
        if (!/^\d{4}-\d{2}-\d{2}$/.test(String(r.OrderDate))) altDates++;
      }
      const s = stats(file);
      const invalid = Object.values(kinds).reduce((a, b) => a + b, 0);
      for (const k of INVALID) seenKinds[k] += kinds[k];
      expect({ file, rows: body.length, invalid, kinds, duplicates, mismatched, altDates }).toEqual({
        file, rows: s.rows, invalid: s.invalid, kinds: plantedKinds(file), duplicates: s.duplicates, mismatched: s.defects.total_mismatch, altDates: s.defects.accepted_date_format,
      });
    }
    // Every kind a purchase file can carry was planted, so each rule above was exercised.
    expect(INVALID.filter((k) => seenKinds[k] === 0)).toEqual(['bad_price', 'unknown_name']);
  });

  it('schema change: exactly the listed files carry Qty and Currency', () => {
    const change = manifest.schemaChange ?? expect.fail('heavy plants a schema change');
    for (const file of Object.keys(manifest.files).filter((f) => f.startsWith('purchases/'))) {
      const first = lines(file)[0] ?? '';
      expect(first.includes('Qty') && first.includes('Currency'), file).toBe(change.files.includes(file));
    }
  });

  it('events: invalid by kind, duplicates by event_id, late and out-of-order by running max', () => {
    const seen = new Set<string>();
    const kinds = noKinds();
    let duplicates = 0, late = 0, outOfOrder = 0, max = -Infinity;
    const body = lines('events.jsonl');
    for (const text of body) {
      const e = jsonObject(text);
      const verdict = e ? eventVerdict(e) : ({ ok: false, kind: 'malformed_json' } as const);
      if (!e || !verdict.ok) { kinds[verdict.ok ? 'malformed_json' : verdict.kind]++; continue; }
      const id = String(e.event_id);
      if (seen.has(id)) { duplicates++; continue; }
      seen.add(id);
      const ts = verdict.ts as number;
      if (max - ts >= 3_600_000) late++;
      else if (max - ts > 0) outOfOrder++;
      max = Math.max(max, ts);
    }
    const s = stats('events.jsonl');
    const invalid = Object.values(kinds).reduce((a, b) => a + b, 0);
    expect({ rows: body.length, invalid, kinds, duplicates, late, outOfOrder }).toEqual({
      rows: s.rows, invalid: s.invalid, kinds: plantedKinds('events.jsonl'), duplicates: s.duplicates, late: s.defects.late_event, outOfOrder: s.defects.out_of_order_event,
    });
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
    const dirty = (s: string) => s !== tidy(s) || (/[a-z]/i.test(s) && (s === s.toUpperCase() || s === s.toLowerCase()));
    for (const [file, cols] of [['products.csv', [1, 2]], ['users.csv', [1]]] as const) {
      const rows = lines(file).slice(1).map((l) => csvCells(l) ?? []);
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
