/**
 * The five contract metrics as an analyst finds them (MISSION.md "Metrics"): exactly their listed
 * columns, in that order, with revenue `numeric`, read from information_schema as etl_analyst (which
 * lists only what that role may read). Types MISSION leaves open are checked by kind: dates `date`,
 * ids and names text, counts an integer type. Also: expectContract's money parser refuses a value
 * with a third decimal instead of cutting it off.
 */
import type { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { connectAnalyst } from '../support/metrics-expected-check';
import { toCents } from '../support/transform-expected';

const TEXT = ['text', 'character varying'];
const COUNT = ['integer', 'bigint'];
const CONTRACT: Record<string, Array<[column: string, types: string[]]>> = {
  product_sales: [['product_id', TEXT], ['product_name', TEXT], ['units', COUNT], ['revenue', ['numeric']]],
  orders_by_date: [['order_date', ['date']], ['orders', COUNT], ['revenue', ['numeric']]],
  monthly_revenue: [['month', ['date']], ['orders', COUNT], ['revenue', ['numeric']]],
  daily_traffic: [['event_date', ['date']], ['event_name', TEXT], ['events', COUNT]],
  daily_unique_visitors: [['event_date', ['date']], ['visitors', COUNT]],
};

describe('the five contract metrics have exactly their listed columns, revenue numeric (as etl_analyst)', () => {
  let analyst: Client;
  beforeAll(async () => {
    analyst = await connectAnalyst(loadConfig());
  });
  afterAll(async () => analyst?.end());

  for (const [name, columns] of Object.entries(CONTRACT)) {
    it(`${name}: ${columns.map(([c]) => c).join(', ')}`, async () => {
      // current_schema(): where the analyst's unqualified `select … from ${name}` looks first.
      const { rows } = await analyst.query<{ column_name: string; data_type: string }>(
        `select column_name, data_type from information_schema.columns
         where table_schema = current_schema() and table_name = $1 order by ordinal_position`, [name]);
      expect(rows.map((r) => r.column_name), `${name}: columns and their order`).toEqual(columns.map(([c]) => c));
      for (const [i, [column, types]] of columns.entries()) expect(types, `${name}.${column} is ${rows[i]?.data_type}`).toContain(rows[i]?.data_type);
      // ...and the analyst can read it.
      await analyst.query(`select ${columns.map(([c]) => c).join(', ')} from ${name} limit 1`);
    });
  }

  it('money from analytics is compared with two decimals at most: a third is refused, not cut off', () => {
    expect(toCents('12.3')).toBe(1230n);
    expect(toCents('12.34')).toBe(1234n);
    expect(toCents('0')).toBe(0n);
    for (const v of ['12.345', '12.340', '12.001', '1e3', '']) expect(() => toCents(v), v).toThrow(/at most two decimals/);
  });
});
