import { describe, expect, it } from 'vitest';
import { validateEvent, validateEventRecord, MAX_EVENT_BYTES, MAX_EVENT_DEPTH, MAX_ID_BYTES, nestingDepth, quarantinedValue } from '../../activities/events/validation';

const base = { event_id: 'E1', event_name: 'view', user_id: 'U1', session_id: 'S1', product_id: 'P1', order_id: null, price: '9.99', ts: '2024-03-01T10:00:00Z' };
const json = (o: Record<string, unknown>) => Buffer.from(JSON.stringify({ ...base, ...o }));
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const withRaw = (key: string, rawJson: string) => Buffer.from(`${JSON.stringify(base).slice(0, -1)},${JSON.stringify(key)}:${rawJson}}`);
const reasonOf = (value: Buffer | null) => {
  const j = validateEvent(value);
  if (j.ok) throw new Error(`expected a rejection, got ${JSON.stringify(j.event)}`);
  return j;
};

describe('validateEvent: what any message gets', () => {
  it('accepts a valid event, and ignores unknown fields', () => {
    expect(validateEvent(json({})).ok).toBe(true);
    const j = validateEvent(json({ campaign: 'spring', extra: { a: [1, 2, { b: null }] }, n: 1e300 }));
    expect(j).toMatchObject({ ok: true, event: { eventId: 'E1', price: '9.99' } });
  });

  it('rejects what is not a JSON object with a reason, never throws', () => {
    expect(reasonOf(null).reason).toMatch(/empty/);
    expect(reasonOf(Buffer.alloc(0)).reason).toMatch(/empty/);
    expect(reasonOf(Buffer.from('not json at all')).reason).toMatch(/not valid JSON/);
    expect(reasonOf(Buffer.from('[1,2]')).reason).toMatch(/not a JSON object/);
    expect(reasonOf(Buffer.from('"a string"')).reason).toMatch(/not a JSON object/);
  });

  it('rejects bytes that are not UTF-8 before reading them as text', () => {
    const bad = Buffer.concat([Buffer.from('{"event_id":"E'), Buffer.from([0xc3, 0x28]), Buffer.from(JSON.stringify(base).slice(14))]);
    expect(reasonOf(bad).reason).toMatch(/not valid UTF-8/);
    expect(reasonOf(Buffer.from([0xff, 0xfe, 0x00, 0x01])).reason).toMatch(/not valid UTF-8/);
  });

  it('rejects a NUL byte in the message and a \\u0000 in an id', () => {
    expect(reasonOf(Buffer.from(JSON.stringify(base).replace('E1', 'E\u00001'))).reason).toMatch(/NUL/);
    expect(reasonOf(json({ user_id: 'U\u00001' }))).toMatchObject({ field: 'user_id', reason: expect.stringMatching(/NUL/) });
  });

  it(`rejects a message of ${MAX_EVENT_BYTES} bytes or more, and takes one just under`, () => {
    const pad = (total: number) => {
      const head = json({ pad: '' });
      return json({ pad: 'x'.repeat(total - head.length) });
    };
    expect(pad(MAX_EVENT_BYTES - 1)).toHaveLength(MAX_EVENT_BYTES - 1);
    expect(validateEvent(pad(MAX_EVENT_BYTES - 1)).ok).toBe(true);
    expect(reasonOf(pad(MAX_EVENT_BYTES)).reason).toBe(`message of ${MAX_EVENT_BYTES} bytes exceeds the 1 MiB limit`);
    expect(reasonOf(Buffer.alloc(1_200_000, 0xff)).reason).toMatch(/1200000 bytes exceeds the 1 MiB limit/);
  });

  it(`rejects nesting deeper than ${MAX_EVENT_DEPTH} levels, naming the field, without a stack overflow`, () => {
    const deepName = Buffer.from(JSON.stringify(base).replace('"view"', nested(10_000)));
    expect(reasonOf(deepName)).toMatchObject({ field: 'event_name', reason: expect.stringMatching(/event_name is nested more than 32 levels deep/) });
    expect(reasonOf(withRaw('context', nested(5_000)))).toMatchObject({ field: 'context' });
    expect(reasonOf(withRaw('o', '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000))).field).toBe('o');
    // The message itself counts as level 1: a field may hold MAX_EVENT_DEPTH - 1 levels.
    expect(validateEvent(withRaw('context', nested(MAX_EVENT_DEPTH - 1))).ok).toBe(true);
    expect(validateEvent(withRaw('context', nested(MAX_EVENT_DEPTH))).ok).toBe(false);
  });

  it('measures depth iteratively and stops at the limit', () => {
    expect(nestingDepth(1, 10)).toBe(0);
    expect(nestingDepth({}, 10)).toBe(1);
    expect(nestingDepth({ a: [1, { b: [] }] }, 10)).toBe(4);
    let deep: unknown = [];
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(nestingDepth(deep, 64)).toBe(65);
  });

  it('rejects a ts outside years 1000-9999 with a ts reason', () => {
    for (const ts of ['10000-01-01T00:00:00Z', '0000-01-01T00:00:00Z', '-0001-01-01T00:00:00Z', '+002024-01-01T00:00:00Z', '0050-06-01T00:00:00Z', '0999-12-31', '9999-12-31T23:30:00-05:00']) {
      expect(reasonOf(json({ ts })), ts).toMatchObject({ field: 'ts', reason: expect.stringMatching(/^ts /) });
    }
    for (const ts of ['1000-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z', '2024-02-29']) expect(validateEvent(json({ ts })).ok, ts).toBe(true);
  });

  it('rejects numbers JSON cannot carry exactly and prices numeric(14,2) cannot hold', () => {
    expect(reasonOf(Buffer.from(JSON.stringify(base).replace('"9.99"', '1e400')))).toMatchObject({ field: 'price' });
    expect(reasonOf(Buffer.from(JSON.stringify(base).replace('"9.99"', '123456789012345678901234567890')))).toMatchObject({ field: 'price' });
    expect(reasonOf(json({ price: '1000000000000' }))).toMatchObject({ field: 'price' });
    expect(reasonOf(json({ price: '999999999999.995' }))).toMatchObject({ field: 'price', reason: expect.stringMatching(/rounds to/) });
    expect(validateEvent(json({ price: '999999999999.994' })).ok).toBe(true);
    expect(reasonOf(Buffer.from(JSON.stringify(base).replace('"U1"', '12345678901234567890')))).toMatchObject({ field: 'user_id' });
    expect(validateEvent(Buffer.from(JSON.stringify(base).replace('"U1"', '42'))).ok).toBe(true);
    expect(validateEvent(Buffer.from(JSON.stringify(base).replace('}', ',"big":1e400,"huge":123456789012345678901234567890}'))).ok).toBe(true);
  });

  it('rejects ids that are not text, too long for the primary key, or not well-formed', () => {
    expect(reasonOf(json({ event_id: { a: 1 } }))).toMatchObject({ field: 'event_id' });
    expect(reasonOf(json({ session_id: ['S1'] }))).toMatchObject({ field: 'session_id' });
    expect(reasonOf(json({ event_id: 'e'.repeat(MAX_ID_BYTES + 1) }))).toMatchObject({ field: 'event_id', reason: expect.stringMatching(/1001 bytes/) });
    expect(validateEvent(json({ event_id: 'e'.repeat(MAX_ID_BYTES) })).ok).toBe(true);
    expect(reasonOf(Buffer.from(JSON.stringify(base).replace('"U1"', '"U\\ud800"')))).toMatchObject({ field: 'user_id', reason: expect.stringMatching(/surrogate/) });
  });

  it('keeps reasons short and storable whatever the value', () => {
    const j = reasonOf(json({ event_name: 'x'.repeat(500_000) }));
    expect(j.reason.length).toBeLessThanOrEqual(500);
    const k = reasonOf(Buffer.from(JSON.stringify({ ...base, ts: 'bad\u0000' })));
    expect(k.reason).not.toContain('\u0000');
  });
});

describe('validateEventRecord: the rules never throw out of judging', () => {
  it('turns an exception of the rule check (JSON.stringify of a BigInt, a throwing getter) into a reason', () => {
    expect(validateEventRecord({ ...base, event_name: 10n })).toMatchObject({ ok: false, reason: expect.stringMatching(/could not be checked/) });
    const hostile = { ...base };
    Object.defineProperty(hostile, 'ts', { enumerable: true, get: () => { throw new RangeError('Maximum call stack size exceeded'); } });
    expect(validateEventRecord(hostile)).toMatchObject({ ok: false, reason: expect.stringMatching(/Maximum call stack/) });
  });
});

describe('quarantinedValue', () => {
  it('keeps UTF-8 text as text and anything else base64, so the bytes come back exactly', () => {
    expect(quarantinedValue(Buffer.from('{"a":"é"}'))).toEqual({ record: '{"a":"é"}' });
    expect(quarantinedValue(null)).toEqual({ record: '' });
    for (const bytes of [Buffer.from([0xff, 0x00, 0x41]), Buffer.from('a\u0000b')]) {
      const q = quarantinedValue(bytes);
      expect(q.encoding).toBe('base64');
      expect(Buffer.from(q.record, 'base64').equals(bytes)).toBe(true);
    }
  });
});
