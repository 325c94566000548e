/**
 * The three JSON sources as the fuzzer sees them: their fields, a valid record, how a record is
 * written, and where their documented rules differ from the defaults of fuzz-values.ts.
 * Valid records' times fall in `era` (a year of the run's own), so nothing meets anyone's data.
 */
import { EVENT_NAMES, ORDER_STATUSES } from '../../contract/layout';
import { fieldReason, jsonObject, type Piece } from './fuzz-core';
import type { JsonSourceSpec, RecordVariant } from './fuzz-json';
import type { ValueContext, Variant } from './fuzz-values';

const s = (v: string) => JSON.stringify(v);
const pad = (n: number) => String(n).padStart(2, '0');
/** A time in the era's year, to the second, as the shops send it. */
export function eraTime(c: ValueContext, era: number): string {
  const r = c.rng;
  return `${era}-${pad(r.int(1, 12))}-${pad(r.int(1, 28))}T${pad(r.int(0, 23))}:${pad(r.int(0, 59))}:${pad(r.int(0, 59))}Z`;
}
const price = (c: ValueContext) => `${c.rng.int(0, 500)}.${pad(c.rng.int(0, 99))}`;
/** Integer ids are valid where the rules stringify them (events, files); orders want strings. */
const integerIds = (v: Variant) => (v.name === 'integer' ? 'load' : undefined);

const linesRecord = (name: string, lines: string, expect: 'quarantine' | 'load'): RecordVariant => ({
  name, family: expect === 'load' ? 'odd but valid' : 'bad value', expect, reason: fieldReason('lines'),
  make: (entries) => ordersRender([...entries.filter(([k]) => !k.startsWith('lines')), ...(lines === '' ? [] : [['lines', lines] as [string, Piece]])]),
});

/** An order version; `lines.0.*` are the first line's fields, `lines.1` the second line whole, `lines` replaces both. */
function ordersRender(entries: ReadonlyArray<readonly [string, Piece]>): Buffer {
  const top: Array<[string, Piece]> = [];
  const first: Array<[string, Piece]> = [];
  let rest: Piece | null = null;
  let explicit = false;
  for (const [k, v] of entries) {
    if (k.startsWith('lines.0.')) first.push([k.slice(8), v]);
    else if (k === 'lines.1') rest = v;
    else {
      top.push([k, v]);
      explicit ||= k === 'lines';
    }
  }
  if (!explicit && (first.length > 0 || rest !== null)) {
    top.push(['lines', Buffer.concat([Buffer.from('['), jsonObject(first), ...(rest === null ? [] : [Buffer.from(','), Buffer.from(rest)]), Buffer.from(']')])]);
  }
  return jsonObject(top);
}

export function ordersSpec(era: number): JsonSourceSpec {
  return {
    source: 'orders', keyField: 'order_id', textLevel: false,
    fields: [
      { name: 'order_id', cls: 'keyId' }, { name: 'user_id', cls: 'id' }, { name: 'status', cls: 'enum', values: ORDER_STATUSES },
      { name: 'created_at', cls: 'date' }, { name: 'updated_at', cls: 'date' }, { name: 'lines.0.product_id', cls: 'id' },
      { name: 'lines.0.quantity', cls: 'quantity' }, { name: 'lines.0.unit_price', cls: 'price' },
    ],
    base: (c) => {
      const t = eraTime(c, era);
      return {
        order_id: s(c.uid), user_id: s(`U${c.rng.int(1, 9999)}`), status: s(c.rng.pick(ORDER_STATUSES)), created_at: s(t), updated_at: s(t),
        'lines.0.product_id': s(`P${c.rng.int(1, 999)}`), 'lines.0.quantity': String(c.rng.int(1, 5)), 'lines.0.unit_price': s(price(c)),
        'lines.1': JSON.stringify({ product_id: `P${c.rng.int(1, 999)}`, quantity: c.rng.int(1, 3), unit_price: price(c) }),
      };
    },
    render: ordersRender,
    stageKey: (id) => id,
    adjust: (_f, v) => (v.name === 'integer' ? 'quarantine' : undefined),
    records: [
      linesRecord('no lines', '', 'quarantine'), linesRecord('lines []', '[]', 'quarantine'), linesRecord('lines a string', '"P1x2"', 'quarantine'),
      linesRecord('lines an object', '{"product_id":"P1","quantity":1,"unit_price":"1"}', 'quarantine'), linesRecord('a null line', '[null]', 'quarantine'),
      linesRecord('500 lines', JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ product_id: `P${i}`, quantity: 1, unit_price: '0.50' }))), 'load'),
    ],
  };
}

export function eventsSpec(era: number): JsonSourceSpec {
  return {
    source: 'events', keyField: 'event_id', textLevel: true,
    fields: [
      { name: 'event_id', cls: 'keyId' }, { name: 'event_name', cls: 'enum', values: EVENT_NAMES }, { name: 'user_id', cls: 'id' },
      { name: 'session_id', cls: 'id' }, { name: 'product_id', cls: 'id' }, { name: 'order_id', cls: 'optId' },
      { name: 'price', cls: 'optPrice' }, { name: 'ts', cls: 'date' },
    ],
    base: (c) => ({
      event_id: s(c.uid), event_name: s(c.rng.pick(EVENT_NAMES)), user_id: s(`U${c.rng.int(1, 9999)}`), session_id: s(`S${c.rng.int(1, 99999)}`),
      product_id: s(`P${c.rng.int(1, 999)}`), order_id: c.rng.chance(0.3) ? s(`O${c.rng.int(1, 99999)}`) : 'null',
      price: c.rng.chance(0.5) ? s(price(c)) : 'null', ts: s(eraTime(c, era)),
    }),
    render: jsonObject,
    stageKey: (id) => id,
    adjust: (f, v) => {
      if (f.cls === 'optId' && (v.family === 'missing field' || v.name === 'dup key, last blank')) return 'load';
      // The events rules take four-digit years only (docs/ingestion.md): year 24 is refused, not misread.
      if (f.name === 'ts' && /^0|^"0/.test(v.name)) return 'quarantine';
      return integerIds(v);
    },
  };
}

export const PURCHASE_FIELDS = ['CustomerID', 'OrderID', 'OrderDate', 'ProductID', 'ProductName', 'Quantity', 'Price', 'Total'] as const;

/** The JSON-lines purchase file record; the CSV fuzzer (fuzz-csv.ts) uses its values as cells. */
export function purchaseSpec(era: number): JsonSourceSpec {
  return {
    source: 'purchases', keyField: 'OrderID', textLevel: true,
    fields: [
      { name: 'CustomerID', cls: 'id' }, { name: 'OrderID', cls: 'keyId' }, { name: 'OrderDate', cls: 'date' }, { name: 'ProductID', cls: 'keyId' },
      { name: 'ProductName', cls: 'text' }, { name: 'Quantity', cls: 'quantity' }, { name: 'Price', cls: 'price' }, { name: 'Total', cls: 'optPrice' },
    ],
    // ProductID is unique too: a mutant's OrderID may be a constant ("null" in a CSV cell), and the key is the pair.
    base: (c) => {
      const q = c.rng.int(1, 5);
      const p = c.rng.int(1, 9999);
      return {
        CustomerID: s(`${c.rng.int(1000, 9999)}`), OrderID: s(c.uid), OrderDate: s(eraTime(c, era).slice(0, 10)), ProductID: s(`P${c.num}`),
        ProductName: s(`Widget ${c.rng.int(1, 99)}`), Quantity: String(q), Price: s((p / 100).toFixed(2)), Total: s(((q * p) / 100).toFixed(2)),
      };
    },
    render: jsonObject,
    stageKey: (id) => id.trim(),
    adjust: (f, v) => (f.name === 'Total' && v.family === 'missing field' ? 'load' : integerIds(v)),
  };
}
