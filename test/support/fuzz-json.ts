/**
 * The JSON record fuzzer (orders versions, Kafka events, JSON-lines purchase files): valid records
 * of a source, and mutants of them, one field (or the record's shape) at a time. Every variant of
 * every field is drawn once first, so even a short run covers them all; then random draws, heavy
 * ones (a megabyte, 10,000 levels) rarely. Pure: the seed and the tag decide every byte.
 */
import { DEEP, deepArray, fieldReason, MISSING, Rng, STRUCTURAL, type Expect, type Family, type Mutant, type Piece } from './fuzz-core';
import { extraVariants, variantsFor, type FieldClass, type ValueContext, type Variant } from './fuzz-values';

export interface JsonField { name: string; cls: FieldClass; values?: readonly string[] }

export interface JsonSourceSpec {
  source: string;
  fields: readonly JsonField[];
  /** The field a loaded record is found by (unique per record). */
  keyField: string;
  /** A valid record's value per field, as JSON text. */
  base(c: ValueContext): Record<string, string>;
  /** The record from its entries in order (a missing field is left out, a duplicated one appears twice). */
  render(entries: ReadonlyArray<readonly [string, Piece]>): Buffer;
  /** The key as staging holds it, from the id as sent (files trim ids). */
  stageKey(id: string): string;
  /** The source's own verdict where its documented rules differ from the defaults. */
  adjust?(field: JsonField, v: Variant): Expect | undefined;
  /** False where a record that is not JSON would break its container (an API page), not just itself. */
  textLevel: boolean;
  /** Mutations of the record's shape of this source's own (an order without lines, say). */
  records?: RecordVariant[];
}

export type Role = 'bad' | 'valid' | 'duplicate';
export interface Item extends Omit<Mutant, 'family'> { role: Role; family: Family | 'valid' | 'duplicate' }

interface Slot { field: JsonField | 'extra' | 'record'; index: number; heavy: boolean }

/** A mutation of the record as a whole: its shape, or its bytes. */
export interface RecordVariant { name: string; family: Family; expect: Expect; reason?: RegExp; make(entries: Array<[string, Piece]>, rng: Rng): Buffer }

const shape = (name: string, family: Family, text: string): RecordVariant => ({ name, family, expect: 'quarantine', make: () => Buffer.from(text) });

function recordVariants(spec: JsonSourceSpec): RecordVariant[] {
  const all: RecordVariant[] = [
    shape('array', 'not an object', '[1,2]'), shape('string', 'not an object', '"a record"'), shape('null', 'not an object', 'null'),
    shape('number', 'not an object', '42'), { ...shape('empty object', 'missing field', '{}'), reason: /missing|record|expected \d+ columns/ },
    { name: 'deep record', family: 'deep nesting', expect: 'quarantine', make: () => Buffer.from(deepArray(DEEP)) },
    ...(spec.records ?? []),
  ];
  if (!spec.textLevel) return all;
  const bytes = (e: Array<[string, Piece]>) => spec.render(e);
  return [
    ...all,
    { name: 'truncated', family: 'truncated', expect: 'quarantine', make: (e, rng) => { const b = bytes(e); return b.subarray(0, rng.int(1, b.length - 2)); } },
    { name: 'raw NUL byte', family: 'NUL byte', expect: 'quarantine', make: (e) => { const b = bytes(e); return Buffer.concat([b.subarray(0, 14), Buffer.from([0]), b.subarray(14)]); } },
    { name: 'trailing garbage', family: 'truncated', expect: 'quarantine', make: (e) => Buffer.concat([bytes(e), Buffer.from(' x')]) },
    shape('not JSON', 'wrong type', 'order_id=1&status=paid'),
  ];
}

export interface JsonFuzzOptions { seed: number; tag: string; bad: number; validPerBad?: number; duplicateEvery?: number }

/** valid, bad and duplicate records in a seeded order: about `validPerBad` valid records per bad one. */
export function* jsonItems(spec: JsonSourceSpec, o: JsonFuzzOptions): Generator<Item> {
  const rng = new Rng(o.seed, `fuzz/${spec.source}`);
  const numBase = (new Rng(0, o.tag).int(100_000, 999_999) * 1_000_000_000);
  let n = 0;
  const ctx = (): ValueContext => ({ rng, uid: `${o.tag}-${spec.source[0]}${++n}`, num: numBase + n });
  const recs = recordVariants(spec);
  const catalogue: Slot[] = [
    ...spec.fields.flatMap((f) => variantsFor(f.cls, ctx(), f.values).map((v, index) => ({ field: f, index, heavy: !!v.heavy }))),
    ...extraVariants(ctx()).map((v, index) => ({ field: 'extra' as const, index, heavy: !!v.heavy })),
    ...recs.map((r, index) => ({ field: 'record' as const, index, heavy: r.name.startsWith('deep') })),
  ];
  const valids: Array<[Buffer, string]> = [];
  const validRecord = (): Item => {
    const c = ctx();
    const bytes = spec.render(Object.entries(spec.base(c)));
    const key = spec.stageKey(c.uid);
    valids.push([bytes, key]);
    if (valids.length > 50) valids.shift();
    return { role: 'valid', family: 'valid', kind: 'valid', field: null, expect: 'load', reason: STRUCTURAL, bytes, key };
  };
  for (let bad = 0; bad < o.bad; bad++) {
    const perBad = o.validPerBad ?? 1;
    for (let k = rng.int(0, 2 * perBad); k > 0; k--) {
      yield validRecord();
      if (rng.chance(1 / (o.duplicateEvery ?? 25))) {
        const [bytes, key] = rng.pick(valids);
        yield { role: 'duplicate', family: 'duplicate', kind: 'duplicate', field: null, expect: 'load', reason: STRUCTURAL, bytes, key };
      }
    }
    const slot = bad < catalogue.length ? (catalogue[bad] as Slot) : randomSlot(rng, catalogue);
    yield mutant(spec, slot, ctx(), recs);
  }
}

function randomSlot(rng: Rng, catalogue: Slot[]): Slot {
  for (;;) {
    const s = rng.pick(catalogue);
    // A megabyte or 10,000 levels costs far more than the rest: kept one time in fifty.
    if (!s.heavy || rng.chance(0.02)) return s;
  }
}

function mutant(spec: JsonSourceSpec, slot: Slot, c: ValueContext, recs: RecordVariant[]): Item {
  const base = spec.base(c);
  const entries = (): Array<[string, Piece]> => Object.entries(base);
  if (slot.field === 'record') {
    const r = recs[slot.index] as RecordVariant;
    const bytes = r.make(entries(), c.rng);
    return { role: 'bad', family: r.family, kind: `record=${r.name}`, field: null, expect: r.expect, reason: r.reason ?? STRUCTURAL, bytes, key: r.reason ? spec.stageKey(c.uid) : null };
  }
  const field = slot.field === 'extra' ? { name: 'fuzz_extra', cls: 'text' as const } : slot.field;
  const variants = slot.field === 'extra' ? extraVariants(c) : variantsFor(field.cls, c, field.values);
  const v = variants[slot.index] as Variant;
  const piece = typeof v.piece === 'function' ? v.piece() : v.piece;
  const list = entries().filter(([k]) => k !== field.name || slot.field === 'extra');
  const at = Math.max(0, Object.keys(base).indexOf(field.name));
  const inserted: Array<[string, Piece]> = [];
  if (v.first !== undefined) inserted.push([field.name, v.first]);
  if (piece !== MISSING) inserted.push([field.name, piece]);
  list.splice(slot.field === 'extra' ? list.length : at, 0, ...inserted);
  const expect = spec.adjust?.(field, v) ?? v.expect;
  const isKey = field.name === spec.keyField;
  const key = isKey ? (v.id === undefined ? null : spec.stageKey(v.id)) : spec.stageKey(c.uid);
  return {
    role: 'bad', family: v.family, kind: `${slot.field === 'extra' ? 'extra' : field.name}=${v.name}`, field: field.name, expect,
    reason: fieldReason(field.name.split('.').pop() as string), bytes: spec.render(list), key, ...(v.date ? { date: v.date } : {}),
  };
}
