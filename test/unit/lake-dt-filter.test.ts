import { describe, expect, it } from 'vitest';
import { dtFilter, dtFilterFromTree, parseSql, referencedTables } from '../../lib/lake-dt-filter';

// DuckDB parses in-process, so these need no services.
const days = ['2024-01-01', '2024-01-02', '2024-01-03', '2024-01-04'];
const pick = async (sql: string) => {
  const f = await dtFilter(sql);
  return f ? days.filter(f) : 'all';
};

describe('dtFilter: partition pruning for etl lake query', () => {
  it('understands =, ranges, between, in and date casts', async () => {
    expect(await pick(`select * from t where dt = '2024-01-02'`)).toEqual(['2024-01-02']);
    expect(await pick(`select * from t where dt >= '2024-01-03'`)).toEqual(['2024-01-03', '2024-01-04']);
    expect(await pick(`select * from t where dt > date '2024-01-03'`)).toEqual(['2024-01-04']);
    expect(await pick(`select * from t where dt <= cast('2024-01-02' as date)`)).toEqual(['2024-01-01', '2024-01-02']);
    expect(await pick(`select * from t where dt between '2024-01-02' and '2024-01-03'`)).toEqual(['2024-01-02', '2024-01-03']);
    expect(await pick(`select * from t where dt in ('2024-01-01', '2024-01-04')`)).toEqual(['2024-01-01', '2024-01-04']);
    expect(await pick(`select * from t x where x.dt < '2024-01-02'::date and event_name = 'view'`)).toEqual(['2024-01-01']);
    expect(await pick(`SELECT * FROM t WHERE "DT" = '2024-01-02'`)).toEqual(['2024-01-02']);
  });

  it('takes the literal on either side', async () => {
    expect(await pick(`select * from t where '2024-01-02' = dt`)).toEqual(['2024-01-02']);
    expect(await pick(`select * from t where '2024-01-02' < dt`)).toEqual(['2024-01-03', '2024-01-04']);
  });

  it('accepts dt qualified by the table name or its alias, not by another name', async () => {
    expect(await pick(`select * from t where t.dt = '2024-01-02'`)).toEqual(['2024-01-02']);
    expect(await pick(`select * from t as x where x.dt = '2024-01-02'`)).toEqual(['2024-01-02']);
    expect(await pick(`select * from daily_traffic t where t.dt between '2024-01-02' and '2024-01-03'`)).toEqual(['2024-01-02', '2024-01-03']);
    expect(await pick(`select * from t x where t.dt = '2024-01-02'`)).toBe('all');
    expect(await pick(`select * from t where y.dt = '2024-01-02'`)).toBe('all');
  });

  it('allows dt in the select list and group by', async () => {
    expect(await pick(`select dt, count(*) from t where dt = '2024-01-02' group by dt order by dt`)).toEqual(['2024-01-02']);
  });

  it('intersects AND-ed predicates, however they are nested', async () => {
    expect(await pick(`select * from t where dt >= '2024-01-02' and dt <= '2024-01-03' and events > 2`)).toEqual(['2024-01-02', '2024-01-03']);
    expect(await pick(`select * from t where (dt >= '2024-01-02' and events > 2) and (dt < '2024-01-04')`)).toEqual(['2024-01-02', '2024-01-03']);
    expect(await pick(`select * from t where (dt = '2024-01-01' or events > 2) and dt <= '2024-01-02'`)).toEqual(['2024-01-01', '2024-01-02']);
    expect(await pick(`select * from t where dt = '2024-01-01' and dt = '2024-01-02'`)).toEqual([]);
  });

  it('reads every partition for the issue-9 queries', async () => {
    expect(await pick(`select count(*) n from daily_traffic`)).toBe('all');
    expect(await pick(`select count(*) filter (where dt='2026-10-01') d1, count(*) n from daily_traffic`)).toBe('all');
    expect(await pick(`select count(*) n from daily_traffic -- dt='2026-10-01'`)).toBe('all');
  });

  it('ignores dt outside the top-level WHERE: FILTER, CASE, select list, HAVING', async () => {
    expect(await pick(`select count(*) filter (where dt = '2024-01-01') d1 from t where dt >= '2024-01-03'`)).toEqual(['2024-01-03', '2024-01-04']);
    expect(await pick(`select sum(case when dt = '2024-01-02' then events end) from t`)).toBe('all');
    expect(await pick(`select dt = '2024-01-02' as first_day from t`)).toBe('all');
    expect(await pick(`select dt, count(*) from t group by dt having dt = '2024-01-02'`)).toBe('all');
    expect(await pick(`select * from t qualify dt = '2024-01-02'`)).toBe('all');
  });

  it('ignores dt in comments and string literals', async () => {
    expect(await pick(`select * from t /* where dt = '2024-01-01' */`)).toBe('all');
    expect(await pick(`select * from t where dt = '2024-01-02' -- and dt = '2024-01-03'`)).toEqual(['2024-01-02']);
    expect(await pick(`select * from t where event_name = 'dt or x' and dt = '2024-01-01'`)).toEqual(['2024-01-01']);
    expect(await pick(`select * from t where note = $$dt = '2024-01-01'$$`)).toBe('all');
    expect(await pick(`select * from t where note = 'x'' and dt = ''2024-01-01'`)).toBe('all');
  });

  it('reads everything for OR and NOT', async () => {
    expect(await pick(`select * from t where dt = '2024-01-02' or events > 1`)).toBe('all');
    expect(await pick(`select * from t where dt = '2024-01-01' or dt = '2024-01-02'`)).toBe('all');
    expect(await pick(`select * from t where not dt = '2024-01-02'`)).toBe('all');
    expect(await pick(`select * from t where not (dt >= '2024-01-02' and events > 1)`)).toBe('all');
    expect(await pick(`select * from t where dt not in ('2024-01-02')`)).toBe('all');
    expect(await pick(`select * from t where dt not between '2024-01-02' and '2024-01-03'`)).toBe('all');
    expect(await pick(`select * from t where dt <> '2024-01-02'`)).toBe('all');
  });

  it('reads everything when the table is read again: subqueries, joins, CTEs, set operations', async () => {
    expect(await pick(`select * from t where dt = (select max(dt) from t)`)).toBe('all');
    expect(await pick(`select (select count(*) from t) total, count(*) from t where dt = '2024-01-02'`)).toBe('all');
    expect(await pick(`select * from t where dt = '2024-01-02' and events > (select avg(events) from t)`)).toBe('all');
    expect(await pick(`select * from (select * from t) s where dt = '2024-01-02'`)).toBe('all');
    expect(await pick(`select * from a join b on a.dt = b.dt where a.dt = '2024-01-02'`)).toBe('all');
    expect(await pick(`select * from a, b where a.dt = '2024-01-02'`)).toBe('all');
    expect(await pick(`with c as (select * from t) select * from c where dt = '2024-01-02'`)).toBe('all');
    expect(await pick(`with c as (select 1) select * from t where dt = '2024-01-02'`)).toBe('all');
    expect(await pick(`select * from t where dt = '2024-01-02' union all select * from t`)).toBe('all');
    expect(await pick(`select count(*), (select count(*) from query_table('t')) from t where dt = '2024-01-02'`)).toBe('all');
    // A subquery that reads no table cannot see the pruned rows.
    expect(await pick(`select * from t where dt = '2024-01-02' and events in (select 1)`)).toEqual(['2024-01-02']);
  });

  it('reads everything for anything else it does not fully understand', async () => {
    expect(await pick(`select * from t`)).toBe('all');
    expect(await pick(`select * from t where dt like '2024-01%'`)).toBe('all');
    expect(await pick(`select * from t where dt = other_dt`)).toBe('all');
    expect(await pick(`select * from t where dt::varchar = '2024-01-02'`)).toBe('all');
    // DuckDB reads these as 2024-01-02 too; a string comparison would not.
    expect(await pick(`select * from t where dt = '2024-1-2'`)).toBe('all');
    expect(await pick(`select * from t where dt = '2024-01-02 00:00:00'`)).toBe('all');
    expect(await pick(`select * from t where dt = '2024-01-02'::timestamp`)).toBe('all');
    expect(await pick(`select * from t where dt in ('2024-01-02', null)`)).toBe('all');
    // `t x(dt)` renames the first column to dt; a sample is drawn before WHERE.
    expect(await pick(`select * from t x(dt) where dt = '2024-01-02'`)).toBe('all');
    expect(await pick(`select * from t using sample 50% where dt = '2024-01-02'`)).toBe('all');
    expect(await pick(`select * from main.t where dt = '2024-01-02'`)).toBe('all');
    expect(await pick(`select * from t where dt = '2024-01-02'; select * from t`)).toBe('all');
    expect(await pick(`select * from t where dt = '2024-01-02' and`)).toBe('all');
  });

  it('returns null for a missing or malformed tree', () => {
    expect(dtFilterFromTree(null)).toBeNull();
    expect(dtFilterFromTree({ error: false, statements: [{ node: { type: 'SELECT_NODE' } }] })).toBeNull();
  });
});

describe('referencedTables', () => {
  const lake = ['daily_traffic', 'orders_by_date', 'fact_order_line'];
  const refs = async (sql: string) => referencedTables(sql, lake, await parseSql(sql));

  it('takes the table references of the parse tree', async () => {
    expect(await refs(`select * from daily_traffic d join orders_by_date o on o.dt = d.dt`)).toEqual(['daily_traffic', 'orders_by_date']);
    expect(await refs(`select 'daily_traffic' from orders_by_date`)).toEqual(['orders_by_date']);
    expect(await refs(`select 1 from orders_by_date -- daily_traffic`)).toEqual(['orders_by_date']);
    expect(await refs(`select daily_traffic from orders_by_date`)).toEqual(['orders_by_date']);
    expect(await refs(`select * from "Daily_Traffic" where exists (select 1 from fact_order_line)`)).toEqual(['daily_traffic', 'fact_order_line']);
    expect(await refs(`with x as (select * from fact_order_line) select * from x`)).toEqual(['fact_order_line']);
  });

  it('falls back to names in the text when DuckDB cannot serialise the statement', async () => {
    expect(await parseSql(`explain select * from daily_traffic`)).toBeNull();
    expect(await refs(`explain select * from daily_traffic`)).toEqual(['daily_traffic']);
  });
});
