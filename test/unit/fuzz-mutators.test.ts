/** The fuzz suite's mutators are pure: the same seed and tag give the same bytes, another seed others. */
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { FAMILIES, MB } from '../support/fuzz-core';
import { fuzzCatalog } from '../support/fuzz-catalog';
import { csvPurchaseSpec, fuzzFiles } from '../support/fuzz-files';
import { jsonItems, type Item, type JsonSourceSpec } from '../support/fuzz-json';
import { eventsSpec, ordersSpec, purchaseSpec } from '../support/fuzz-sources';

const SPECS: Array<[string, JsonSourceSpec]> = [['orders', ordersSpec(3000)], ['events', eventsSpec(3000)], ['jsonl', purchaseSpec(3000)], ['csv', csvPurchaseSpec(3000)]];
const items = (spec: JsonSourceSpec, seed: number, bad = 300) => [...jsonItems(spec, { seed, tag: 't1', bad })];
const digest = (chunks: Iterable<Buffer | string>) => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c).update('\u0000');
  return h.digest('hex');
};

describe('fuzz mutators', () => {
  it.each(SPECS)('%s: the same seed gives the same records, byte for byte; another seed others', (_name, spec) => {
    const a = digest(items(spec, 1, 100).map((i) => i.bytes));
    expect(digest(items(spec, 1, 100).map((i) => i.bytes))).toBe(a);
    expect(digest(items(spec, 2, 100).map((i) => i.bytes))).not.toBe(a);
  });

  it.each(SPECS)('%s: a short run draws every variant of every field once, each with its verdict', (_name, spec) => {
    const bad = items(spec, 1).filter((i) => i.role === 'bad');
    const kinds = new Set(bad.map((i) => i.kind));
    expect(kinds.size).toBeGreaterThan(200);
    for (const f of spec.fields) expect([...kinds].some((k) => k.startsWith(`${f.name}=`)), f.name).toBe(true);
    expect(bad.filter((i) => i.expect === 'quarantine').length).toBeGreaterThan(bad.length / 2);
  });

  it('hostile pieces are what they claim: not UTF-8, 10,000 levels, a megabyte', () => {
    const all = SPECS.flatMap(([, s]) => items(s, 3));
    const of = (kind: RegExp) => all.filter((i: Item) => i.role === 'bad' && kind.test(i.kind));
    expect(of(/=invalid UTF-8$/).every((i) => !isUtf8(i.bytes))).toBe(true);
    expect(of(/=deep$/).every((i) => i.bytes.toString('latin1').includes('['.repeat(10_000)))).toBe(true);
    expect(of(/=1 MB$/).every((i) => i.bytes.length > MB)).toBe(true);
    expect(of(/^record=raw NUL byte$/).every((i) => i.bytes.includes(0))).toBe(true);
  });

  it('files and catalog rows are deterministic too, and all families of bad input occur', () => {
    const files = (seed: number) => fuzzFiles({ seed, tag: 't1', bad: 120, era: 3000 });
    const a = files(1);
    expect(digest(files(1).flatMap((f) => [f.name, f.bytes]))).toBe(digest(a.flatMap((f) => [f.name, f.bytes])));
    expect(digest(files(2).map((f) => f.bytes))).not.toBe(digest(a.map((f) => f.bytes)));
    const rows = (seed: number) => JSON.stringify(fuzzCatalog({ seed, tag: 't1', bad: 200, eraDay: '3000-06-01' }).map((r) => r.values));
    expect(rows(1)).toBe(rows(1));
    expect(rows(2)).not.toBe(rows(1));
    const families = new Set([...SPECS.flatMap(([, s]) => items(s, 1)), ...fuzzFiles({ seed: 1, tag: 't1', bad: 500, era: 3000 }).flatMap((f) => f.items)].map((i) => i.family));
    expect(FAMILIES.filter((f) => !families.has(f))).toEqual([]);
  });
});
