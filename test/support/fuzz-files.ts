/**
 * Fuzzed purchase files (pure): the records of fuzz-json.ts as CSV lines or JSON lines, in files of
 * every shape a drop may hold (plain, .gz, BOM and CRLF, an unclosed quote mid-file, cut short
 * in the middle of a line, a gzip archive cut short, a header that cannot be mapped). Each record
 * knows its line, so its quarantine row (`<key>:<line>`) is found.
 */
import { constants, gzipSync, gunzipSync } from 'node:zlib';
import { PURCHASE_COLUMNS } from '../../contract/layout';
import { fieldReason, Rng, STRUCTURAL, type Piece } from './fuzz-core';
import { jsonItems, type Item, type JsonSourceSpec, type RecordVariant } from './fuzz-json';
import { purchaseSpec } from './fuzz-sources';
import type { Variant } from './fuzz-values';

export interface FileItem extends Item { line: number }
export interface FuzzFile {
  name: string;
  shape: string;
  bytes: Buffer;
  items: FileItem[];
  /** The header cannot be mapped: every line is quarantined with this reason, as one etl.quarantine row. */
  wholeFile?: RegExp;
}

const HEADER = PURCHASE_COLUMNS.join(',');
const CUT_REASON = new RegExp(`${PURCHASE_COLUMNS.join('|')}|${STRUCTURAL.source}`);

/** A cell as written: JSON string content unquoted, other JSON text as is, quoted when CSV needs it. */
function cell(piece: Piece): Buffer {
  let b: Buffer;
  if (typeof piece === 'string') {
    const parsed: unknown = piece.startsWith('"') ? JSON.parse(piece) : piece;
    b = Buffer.from(typeof parsed === 'string' ? parsed : piece);
  } else b = piece[0] === 0x22 ? piece.subarray(1, piece.length - 1) : piece;
  if (!/[",\r\n]/.test(b.toString('latin1'))) return b;
  return Buffer.concat([Buffer.from('"'), Buffer.from(b.toString('latin1').replace(/"/g, '""'), 'latin1'), Buffer.from('"')]);
}

function csvLine(entries: ReadonlyArray<readonly [string, Piece]>): Buffer {
  const byName = new Map(entries);
  const names: string[] = [...PURCHASE_COLUMNS, ...entries.map(([k]) => k).filter((k) => k === 'fuzz_extra')];
  return Buffer.concat(names.flatMap((n, i) => [Buffer.from(i ? ',' : ''), cell(byName.get(n) ?? '')]));
}

const csvRecord = (name: string, expect: 'quarantine' | 'load' | 'either', edit: (line: string) => string, reason = fieldReason('ProductName')): RecordVariant => ({
  name, family: expect === 'quarantine' ? 'column count' : 'odd but valid', expect, reason,
  make: (entries) => Buffer.from(edit(csvLine(entries).toString('utf8'))),
});

/** The purchase record as a CSV line. A JSON type has no CSV spelling: such a value is text here. */
export function csvPurchaseSpec(era: number): JsonSourceSpec {
  const json = purchaseSpec(era);
  const textual = new Set(['id', 'keyId', 'optId', 'text', 'optPrice']);
  const notString = (v: Variant) => (typeof v.piece === 'string' ? !v.piece.startsWith('"') : v.family === 'deep nesting');
  return {
    ...json, source: 'purchases-csv', textLevel: false, render: csvLine,
    adjust: (f, v) => {
      if (f.name === 'fuzz_extra') return 'quarantine'; // a ninth cell under an eight-column header
      if (v.name === 'lone surrogate' || v.name === '3.0') return 'either'; // no UTF-8 spelling; "3.0" is not digits
      if (notString(v) && textual.has(f.cls)) return 'either';
      return json.adjust?.(f, v);
    },
    records: [
      csvRecord('extra cell', 'quarantine', (l) => `${l},extra`), csvRecord('cell missing', 'quarantine', (l) => l.slice(0, l.lastIndexOf(','))),
      csvRecord('eight empty cells', 'quarantine', () => ',,,,,,,', /is missing/), csvRecord('quoted comma', 'load', (l) => l.replace(/,Widget (\d+),/, ',"Widget, $1",')),
      csvRecord('quoted line break', 'load', (l) => l.replace(/,Widget (\d+),/, ',"Widget\n$1",')), csvRecord('all quoted', 'load', (l) => l.split(',').map((c) => `"${c}"`).join(',')),
      csvRecord('CRLF', 'load', (l) => `${l}\r`),
    ],
  };
}

export const FILE_SHAPES = ['csv', 'jsonl', 'csv.gz', 'jsonl.gz', 'csv unclosed quote', 'csv cut', 'jsonl.gz cut', 'csv bom crlf'] as const;

/** Items into one file's lines: duplicates of earlier lines of the same file only. */
function place(items: Item[], firstLine: number, eol: string, rng: Rng): FileItem[] {
  const out: FileItem[] = [];
  let line = firstLine;
  for (const it of items) {
    const valid = out.filter((o) => o.role === 'valid');
    const dup = it.role === 'duplicate' ? (valid.length ? rng.pick(valid) : null) : null;
    if (it.role === 'duplicate' && !dup) continue;
    const placed = dup ? { ...dup, role: 'duplicate' as const, family: 'duplicate' as const, kind: 'duplicate', line } : { ...it, line };
    out.push(placed);
    // Line breaks as the reader counts them: a record ending in a CR before a CRLF spans two lines.
    line += (placed.bytes.toString('latin1') + eol).match(/\r\n|\r|\n/g)?.length ?? 1;
  }
  return out;
}

/** What survives a cut at `plain` bytes: whole lines as they were, the cut one accounted only. */
function survive(items: FileItem[], starts: number[], plainLength: number): FileItem[] {
  return items.flatMap((it, i) => {
    const start = starts[i] as number;
    if (start >= plainLength) return [];
    if (start + it.bytes.length <= plainLength) return [it];
    // Judged like any line: it may still parse (cut in Total), or be a duplicate's remains.
    return [{ ...it, role: 'bad' as const, family: 'truncated' as const, kind: 'record=cut by the file end', expect: 'either' as const, reason: CUT_REASON }];
  });
}

export interface FilesFuzzOptions { seed: number; tag: string; bad: number; era: number; perFile?: number; exclude?: RegExp }

export function fuzzFiles(o: FilesFuzzOptions): FuzzFile[] {
  const rng = new Rng(o.seed, 'fuzz/files');
  const perFile = o.perFile ?? Math.min(150, Math.max(20, Math.ceil(o.bad / 16)));
  const opts = (s: string) => ({ seed: o.seed, tag: `${o.tag}${s}`, bad: Math.ceil(o.bad / 2), duplicateEvery: 20 });
  const csv = jsonItems(csvPurchaseSpec(o.era), opts('c'));
  const jsonl = jsonItems(purchaseSpec(o.era), opts('j'));
  const files: FuzzFile[] = [];
  for (let n = 0; files.reduce((a, f) => a + f.items.filter((i) => i.role === 'bad').length, 0) < o.bad; n++) {
    const shape = FILE_SHAPES[n % FILE_SHAPES.length] as (typeof FILE_SHAPES)[number];
    const isCsv = shape.startsWith('csv');
    const source = isCsv ? csv : jsonl;
    const batch: Item[] = [];
    for (let bad = 0; bad < perFile;) {
      const next = source.next();
      if (next.done) break;
      if (shape === 'csv unclosed quote' && next.value.bytes.includes(0x22)) continue;
      if (o.exclude?.test(next.value.kind)) continue;
      batch.push(next.value);
      if (next.value.role === 'bad') bad++;
    }
    if (batch.length === 0) break;
    files.push(assemble(`${String(n).padStart(3, '0')} ${shape.replace(/ /g, '_')} é.${isCsv ? 'csv' : 'jsonl'}${shape.includes('gz') ? '.gz' : ''}`, shape, batch, rng));
  }
  files.push(brokenHeader(o.tag));
  return files;
}

function assemble(name: string, shape: string, batch: Item[], rng: Rng): FuzzFile {
  const isCsv = shape.startsWith('csv');
  const eol = shape.includes('crlf') ? '\r\n' : '\n';
  let items = place(batch, isCsv ? 2 : 1, eol, rng);
  if (shape === 'csv unclosed quote') {
    const at = Math.floor(items.length / 2);
    const line = items[at]?.line ?? 2;
    const unclosed: FileItem = { role: 'bad', family: 'truncated', kind: 'record=unclosed quote', field: null, expect: 'quarantine', reason: /never closed|unreadable/, key: null, line, bytes: Buffer.from('U9,x,2024-03-01,P9,"never closed,1,2.50,2.50') };
    items = [...items.slice(0, at), unclosed, ...items.slice(at).map((i) => ({ ...i, line: i.line + 1 }))];
  }
  const head = Buffer.from(`${shape.includes('bom') ? '\ufeff' : ''}${isCsv ? HEADER + eol : ''}`);
  const starts: number[] = [];
  let offset = head.length;
  const body = items.map((i) => { starts.push(offset); offset += i.bytes.length + eol.length; return Buffer.concat([i.bytes, Buffer.from(eol)]); });
  let plain = Buffer.concat([head, ...body]);
  if (shape.endsWith('cut')) {
    const cut = rng.int(Math.floor(plain.length * 0.7), plain.length - 2);
    if (shape.includes('gz')) {
      const gz = gzipSync(plain);
      const cutGz = gz.subarray(0, Math.floor(gz.length * (cut / plain.length)));
      let seen: Buffer;
      try {
        seen = gunzipSync(cutGz, { finishFlush: constants.Z_SYNC_FLUSH });
      } catch {
        return { name, shape, bytes: gzipSync(plain), items }; // cut in the archive's header: keep the file whole
      }
      return { name, shape, bytes: cutGz, items: survive(items, starts, seen.length) };
    }
    plain = plain.subarray(0, cut);
    return { name, shape, bytes: plain, items: survive(items, starts, cut) };
  }
  return { name, shape, bytes: shape.includes('gz') ? gzipSync(plain) : plain, items };
}

/** A header naming Quantity twice: the file is quarantined whole, with one etl.quarantine row. */
function brokenHeader(tag: string): FuzzFile {
  const lines = [1, 2, 3].map((i) => `C1,${tag}-hb${i},2024-03-01,P1,Widget,1,1.00,1.00,1`);
  const items = lines.map((l, i): FileItem => ({ role: 'bad', family: 'column count', kind: 'file=header names Quantity twice', field: null, expect: 'quarantine', reason: /more than one column for Quantity/, key: null, bytes: Buffer.from(l), line: i + 2 }));
  return { name: 'zzz broken header.csv', shape: 'header', bytes: Buffer.from(`${HEADER},Qty\n${lines.join('\n')}\n`), items, wholeFile: /more than one column for Quantity/ };
}
