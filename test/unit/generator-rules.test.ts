import { describe, expect, it } from 'vitest';
import { checkEvent, checkPurchase, checkPurchaseCells } from '../../contract/records';
import { decimalEquals, isMissing, multiplyDecimal, normaliseText, parseDate, parsePrice, parseQuantity, textKey } from '../../contract/rules';

describe('parseDate', () => {
  it.each([
    ['2024-01-05', '2024-01-05T00:00:00.000Z'],
    ['2024/01/05', '2024-01-05T00:00:00.000Z'],
    ['2024-01-05T10:15:00Z', '2024-01-05T10:15:00.000Z'],
    ['2024-01-05T10:15', '2024-01-05T10:15:00.000Z'],
    ['2024-01-05T12:15:00+02:00', '2024-01-05T10:15:00.000Z'],
    ['2024-01-05T08:00:00.250-03:00', '2024-01-05T11:00:00.250Z'],
    ['2024-01-05T10:15:00+0200', '2024-01-05T08:15:00.000Z'],
    [' 2024-02-29 ', '2024-02-29T00:00:00.000Z'],
  ])('accepts %s', (input, iso) => {
    expect(parseDate(input)?.toISOString()).toBe(iso);
  });

  it.each(['01/05/2024', '05.01.2024', '2024-01-05 10:15', 'Jan 5 2024', '2024-13-05', '2023-02-29', '2024-01-32', '1704067200', '', '2024-01-05T25:00:00Z', '2024-1-5'])('rejects %j', (input) => {
    expect(parseDate(input)).toBeNull();
  });

  it('rejects non-strings', () => {
    expect(parseDate(1704067200)).toBeNull();
    expect(parseDate(null)).toBeNull();
  });

  it('knows the last day of every month of the years 0-9999 as Date does (proleptic Gregorian)', () => {
    const wrong: string[] = [];
    for (let year = 0; year <= 9999; year++) {
      for (let month = 1; month <= 12; month++) {
        const d = new Date(Date.UTC(2000, month, 0));
        d.setUTCFullYear(year, month, 0); // day 0 of the next month: the last of this one
        const last = d.getUTCDate();
        const ymd = (day: number) => `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
        if (parseDate(ymd(last))?.getTime() !== d.getTime() || parseDate(ymd(last + 1)) !== null) wrong.push(ymd(last));
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('quantities and prices', () => {
  it('accepts positive integers only', () => {
    expect(parseQuantity('3')).toBe(3);
    expect(parseQuantity(' 12 ')).toBe(12);
    expect(parseQuantity(2)).toBe(2);
    for (const bad of ['0', '-1', '1.5', 'two', '3x', '', 'N/A', 0, 1.5, null]) expect(parseQuantity(bad)).toBeNull();
  });

  it('keeps prices exact as canonical decimal strings', () => {
    expect(parsePrice('20.00')).toBe('20.00');
    expect(parsePrice('007.5')).toBe('7.5');
    expect(parsePrice(19.99)).toBe('19.99');
    expect(parsePrice('0')).toBe('0');
    for (const bad of ['-1', '1,50', '$5', '', 'abc', -2, Number.NaN, 1e-7]) expect(parsePrice(bad)).toBeNull();
    expect(multiplyDecimal(3, '0.10')).toBe('0.30');
    expect(multiplyDecimal(7, '217.35')).toBe('1521.45');
    expect(decimalEquals('40', '40.00')).toBe(true);
    expect(decimalEquals('40.01', '40.1')).toBe(false);
  });
});

describe('normaliseText', () => {
  it('trims, collapses whitespace and composes Unicode', () => {
    expect(normaliseText('  Café\u0301  Grinder \t 3 ')).toBe('Café\u0301 Grinder 3'.normalize('NFC'));
    expect(normaliseText('Cafe\u0301')).toBe('Café');
    expect(textKey(' CAFÉ  Supplies')).toBe('café supplies');
    expect(isMissing('  ')).toBe(true);
    expect(isMissing('0')).toBe(false);
  });
});

describe('record checks', () => {
  const line = { CustomerID: 'U1', OrderID: 'H1', OrderDate: '2024-01-01', ProductID: 'P1', ProductName: 'Widget', Quantity: '2', Price: '20.00', Total: '40.00' };

  it('computes the amount and flags a disagreeing Total without rejecting the line', () => {
    const ok = checkPurchase(line);
    expect(ok.ok && ok.value.amount).toBe('40.00');
    const off = checkPurchase({ ...line, Total: '41.00' });
    expect(off.ok && off.value.totalMismatch).toBe(true);
  });

  it('names the failing field', () => {
    expect(checkPurchase({ ...line, CustomerID: '' })).toMatchObject({ ok: false, field: 'CustomerID' });
    expect(checkPurchase({ ...line, Quantity: 'two' })).toMatchObject({ ok: false, field: 'Quantity' });
    expect(checkPurchase({ ...line, OrderDate: '01/02/2024' })).toMatchObject({ ok: false, field: 'OrderDate' });
    expect(checkPurchaseCells(Object.keys(line), ['U1', 'H1'])).toMatchObject({ ok: false, field: '*' });
  });

  it('reads the renamed Qty column as Quantity', () => {
    const { Quantity, ...rest } = line;
    expect(checkPurchase({ ...rest, Qty: Quantity, Currency: 'USD' }).ok).toBe(true);
  });

  it('takes order and return events without an order id or price (the layout allows null for any event name)', () => {
    const ev = { event_id: 'E1', event_name: 'order', user_id: 'U1', session_id: 'S1', product_id: 'P1', order_id: null, price: '5.00', ts: '2024-01-01T00:00:00Z' };
    expect(checkEvent(ev)).toMatchObject({ ok: true, value: { orderId: null } });
    expect(checkEvent({ ...ev, event_name: 'return', price: null })).toMatchObject({ ok: true, value: { orderId: null, price: null } });
    expect(checkEvent({ ...ev, order_id: undefined, extra: { nested: [1] } }).ok).toBe(true);
    expect(checkEvent({ ...ev, order_id: 'O1' }).ok).toBe(true);
    expect(checkEvent({ ...ev, event_name: 'click' })).toMatchObject({ ok: false, field: 'event_name' });
  });
});
