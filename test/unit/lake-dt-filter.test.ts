import { describe, expect, it } from 'vitest';
import { dtFilter, referencedTables } from '../../lib/lake-dt-filter';

const days = ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04'];
const pick = (sql: string) => {
  const f = dtFilter(sql);
  return f ? days.filter(f) : 'all';
};

describe('dtFilter: partition pruning for etl lake query', () => {
  it('understands =, ranges, between and in', () => {
    expect(pick(`select * from t where dt = '2024-01-02'`)).toEqual(['2024-01-02']);
    expect(pick(`select * from t where dt >= '2024-01-03'`)).toEqual(['2024-01-03', '2024-01-04']);
    expect(pick(`select * from t where dt > date '2024-01-03'`)).toEqual(['2024-01-04']);
    expect(pick(`select * from t where dt between '2024-01-02' and '2024-01-03'`)).toEqual(['2024-01-02', '2024-01-03']);
    expect(pick(`select * from t where dt in ('2024-01-01', '2024-01-04')`)).toEqual(['2024-01-01', '2024-01-04']);
    expect(pick(`select * from t where x.dt < '2024-01-02'::date and event_name = 'view'`)).toEqual(['2024-01-01']);
  });

  it('allows dt in the select list and group by', () => {
    expect(pick(`select dt, count(*) from t where dt = '2024-01-02' group by dt order by dt`)).toEqual(['2024-01-02']);
  });

  it('intersects AND-ed predicates', () => {
    expect(pick(`select * from t where dt >= '2024-01-02' and dt <= '2024-01-03' and events > 2`)).toEqual(['2024-01-02', '2024-01-03']);
  });

  it('reads everything when unsure', () => {
    expect(pick(`select * from t`)).toBe('all');
    expect(pick(`select * from t where dt = '2024-01-02' or events > 1`)).toBe('all');
    expect(pick(`select * from t where not dt = '2024-01-02'`)).toBe('all');
    expect(pick(`select * from t where dt = (select max(dt) from t)`)).toBe('all');
    expect(pick(`select * from t where '2024-01-02' = dt`)).toBe('all');
    expect(pick(`select * from a join b on a.dt = b.dt where a.dt = '2024-01-02'`)).toBe('all');
    expect(pick(`select * from a, b where a.dt = '2024-01-02'`)).toBe('all');
    expect(pick(`select * from t where dt like '2024-01%'`)).toBe('all');
  });

  it('ignores dt inside string literals', () => {
    expect(pick(`select * from t where event_name = 'dt or x' and dt = '2024-01-01'`)).toEqual(['2024-01-01']);
  });

  it('finds the curated tables a query names', () => {
    expect(referencedTables(`select * from daily_traffic d join orders_by_date o on o.dt = d.dt`, ['daily_traffic', 'orders_by_date', 'fact_order_line'])).toEqual(['daily_traffic', 'orders_by_date']);
    expect(referencedTables(`select 'daily_traffic' from orders_by_date`, ['daily_traffic', 'orders_by_date'])).toEqual(['orders_by_date']);
  });
});
