import { describe, expect, it } from 'vitest';
import { chunkSql, CATALOG_SPECS, validateRow } from '../../activities/catalog/sources';
import { liveCursor } from '../../activities/orders/load';

describe('catalog source validation', () => {
  it('maps a valid row to staging values in column order, exact and in UTC', () => {
    const r = validateRow(CATALOG_SPECS.products, { product_id: 'P1', product_name: ' Kettle ', category: null, price: '12.50', updated_at: '2024-01-01T00:00:00.123456Z' });
    expect(r).toEqual({ ok: true, values: ['P1', '2024-01-01T00:00:00.123Z', ' Kettle ', null, '12.50'] });
    expect(validateRow(CATALOG_SPECS.users, { user_id: 'U1', user_name: 'A', email: null, country: 'FR', signup_date: '2023-02-03', updated_at: '2024-01-01T00:00:00Z' }))
      .toEqual({ ok: true, values: ['U1', '2024-01-01T00:00:00.000Z', 'A', null, 'FR', '2023-02-03'] });
  });

  it.each([
    ['products', { product_id: 'P1', product_name: 'x', category: 'y', price: '-1.00', updated_at: '2024-01-01T00:00:00Z' }, /price: "-1.00" is not a non-negative decimal/],
    ['products', { product_id: null, product_name: 'x', category: 'y', price: '1', updated_at: '2024-01-01T00:00:00Z' }, /product_id: is missing/],
    ['users', { user_id: ' ', user_name: 'x', email: null, country: null, signup_date: null, updated_at: '2024-01-01T00:00:00Z' }, /user_id: is blank/],
    ['inventory', { product_id: 'P1', warehouse: 'W', stock_level: '-5', updated_at: '2024-01-01T00:00:00Z' }, /stock_level: "-5" is not an integer in 0\.\./],
    ['reviews', { review_id: 'R1', product_id: 'P1', user_id: 'U1', rating: '0', review_text: null, created_at: '2024-01-01T00:00:00Z', updated_at: '2024-01-01T00:00:00Z' }, /rating: "0" is not an integer in 1\.\.5/],
    ['reviews', { review_id: 'R1', product_id: 'P1', user_id: 'U1', rating: '6', review_text: null, created_at: 'never', updated_at: '2024-01-01T00:00:00Z' }, /rating.*; created_at: "never"/],
  ] as const)('quarantines a bad %s row with a reason naming the field', (source, row, reason) => {
    const r = validateRow(CATALOG_SPECS[source], row);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('reads by keyset on the table columns, never on the text alias of updated_at', () => {
    expect(chunkSql(CATALOG_SPECS.inventory, true)).not.toMatch(/>\s*\(/);
    const next = chunkSql(CATALOG_SPECS.inventory, false);
    expect(next).toMatch(/\(t\.updated_at, t\.product_id, t\.warehouse\) > \(\$5::timestamptz, \$6, \$7\)/);
    expect(next).toMatch(/order by t\.updated_at, t\.product_id, t\.warehouse limit \$3/);
    // The byte bound ($4) counts the text columns' lengths, and keeps the row that passes it.
    expect(next).toMatch(/sum\(64 \+ coalesce\(octet_length\(t\.product_id\), 0\) \+ coalesce\(octet_length\(t\.warehouse\), 0\)\) over w/);
    expect(next).toMatch(/where chunk_bytes_ - row_bytes_ < \$4 order by chunk_row_$/);
  });
});

describe('orders live cursor', () => {
  it('moves only on the last page of a scheduled run, to the window end', () => {
    const end = '2024-01-01T00:10:00Z';
    expect(liveCursor({ partitionEnd: end }, true)).toEqual({ pipeline: 'orders', source: 'orders_api', column: 'updated_at', value: '2024-01-01T00:10:00.000Z' });
    expect(liveCursor({ partitionEnd: end }, false)).toBeUndefined();
    expect(liveCursor({ partitionEnd: end, backfill: true }, true)).toBeUndefined();
  });
});
