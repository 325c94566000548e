import { describe, expect, it } from 'vitest';
import { parseOrderVersions, readOrdersPage } from '../../activities/orders/validation';

const good = {
  order_id: 'O1', user_id: 'U1', status: 'paid', created_at: '2024-01-01T00:00:00Z', updated_at: '2024-01-01T01:00:00.5+01:00',
  lines: [{ product_id: 'P1', quantity: 2, unit_price: '20.00' }, { product_id: 'P2', quantity: '1', unit_price: 3.5 }],
};

describe('order version validation', () => {
  it('keeps a valid version with its lines, timestamps in UTC and prices exact', () => {
    const r = parseOrderVersions([good], 'page-1');
    expect(r.rejected).toEqual([]);
    expect(r.orders).toEqual([{ order_id: 'O1', user_id: 'U1', status: 'paid', created_at: '2024-01-01T00:00:00.000Z', updated_at: '2024-01-01T00:00:00.500Z' }]);
    expect(r.lines).toEqual([
      { order_id: 'O1', updated_at: '2024-01-01T00:00:00.500Z', line_no: 1, product_id: 'P1', quantity: 2, unit_price: '20.00' },
      { order_id: 'O1', updated_at: '2024-01-01T00:00:00.500Z', line_no: 2, product_id: 'P2', quantity: 1, unit_price: '3.5' },
    ]);
  });

  it.each([
    [{ ...good, order_id: undefined }, /order_id: is missing/],
    [{ ...good, order_id: '  ' }, /order_id: is blank/],
    [{ ...good, user_id: null }, /user_id/],
    [{ ...good, status: 'lost' }, /status: must be one of placed/],
    [{ ...good, created_at: '01/02/2024' }, /created_at: "01\/02\/2024" is not an ISO 8601/],
    [{ ...good, updated_at: '2024-02-30T00:00:00Z' }, /updated_at/],
    [{ ...good, lines: 'none' }, /lines: must be an array/],
    [{ ...good, lines: [] }, /lines: must have at least one line/],
    [{ ...good, lines: [{ product_id: 'P1', quantity: 0, unit_price: '1' }] }, /lines\.0\.quantity: 0 is not a positive integer/],
    [{ ...good, lines: [{ product_id: 'P1', quantity: 1.5, unit_price: '1' }] }, /quantity/],
    [{ ...good, lines: [{ product_id: 'P1', quantity: 1, unit_price: '-1.00' }] }, /lines\.0\.unit_price: "-1.00" is not a non-negative decimal/],
    [{ ...good, lines: [{ product_id: 'P1', quantity: 1, unit_price: 'ten' }] }, /unit_price/],
    [{ ...good, lines: [good.lines[0], { quantity: 1, unit_price: '1' }] }, /lines\.1\.product_id/],
    ['not an object', /record/],
    [null, /record/],
  ])('quarantines %j with a reason naming the field', (record, reason) => {
    const r = parseOrderVersions([good, record], 'page-7');
    expect(r.orders).toHaveLength(1);
    expect(r.rejected).toHaveLength(1);
    expect(r.rejected[0]?.reason).toMatch(reason);
    expect(r.rejected[0]?.ref).toMatch(/^page-7:1(:|$)/);
    expect(r.rejected[0]?.record).toEqual(record);
  });

  it('names every bad field of a record in one reason', () => {
    const r = parseOrderVersions([{ ...good, status: 'x', lines: [{ product_id: 'P1', quantity: -1, unit_price: '1' }] }], 'page-1');
    expect(r.rejected[0]?.reason).toMatch(/status.*; lines\.0\.quantity/);
  });

  it('passes a repeated version on as a row (the merge counts it as a duplicate) but merges its lines once', () => {
    const r = parseOrderVersions([good, good], 'page-1');
    expect(r.orders).toHaveLength(2);
    expect(r.lines).toHaveLength(2);
    expect(r.rejected).toEqual([]);
  });
});

describe('page envelope', () => {
  it('reads a page whatever its content type says', () => {
    expect(readOrdersPage('{"data":[{"order_id":"O1"}],"next_cursor":"c1"}', 'text/plain')).toEqual({ ok: true, page: { data: [{ order_id: 'O1' }], next_cursor: 'c1' } });
    expect(readOrdersPage('{"data":[],"next_cursor":null}', null)).toEqual({ ok: true, page: { data: [], next_cursor: null } });
  });

  it.each([
    ['<html><body>Bad Gateway</body></html>', 'text/html', /^a body that is not JSON \(.+\); received content-type text\/html, 37 characters: "<html><body>Bad Gateway<\/body><\/html>"$/],
    ['{"data":[1,2', 'application/json', /^a body that is not JSON \(.+\); received content-type application\/json, 12 characters: "\{\\"data\\":\[1,2"$/],
    ['', null, /^a body that is not JSON \(.+\); received content-type \(none\), 0 characters: ""$/],
    ['{"data":{},"next_cursor":""}', 'application/json', /^JSON that is not a page \(data: .+; next_cursor: .+\); received content-type application\/json/],
    ['[]', 'application/json', /^JSON that is not a page \(record: .+\)/],
  ])('says what %j (%s) is instead of a page', (body, contentType, problem) => {
    const r = readOrdersPage(body, contentType);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.problem).toMatch(problem);
  });

  it('shows only the first 200 characters of what came', () => {
    const body = `<html>${'x'.repeat(10_000)}</html>`;
    const r = readOrdersPage(body, 'text/html');
    expect(r.ok ? '' : r.problem).toContain(`${body.length} characters: ${JSON.stringify(body.slice(0, 200))}`);
    expect((r.ok ? '' : r.problem).length).toBeLessThan(400);
  });
});
