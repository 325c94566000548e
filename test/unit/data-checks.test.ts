import { describe, expect, it } from 'vitest';
import { applyOverrides, boundQuery, loadDataChecks, parseCheck } from '../../lib/data-checks';

const FILE = `-- check: sample
-- severity: blocking
-- param: min_ratio = 0.6   (a share)
-- param: min_rows = 20
-- description: First line of the description,
--   continued here.
select $min_ratio < 1 and $date is not null and $min_rows > $min_ratio as ok, 1 as observed, 2 as expected, 'x' as detail
`;

describe('data checks (sql/checks)', () => {
  it('parses a check file: name, severity, params, a multi-line description and the query', () => {
    const c = parseCheck('sample.sql', FILE);
    expect(c).toMatchObject({ name: 'sample', severity: 'blocking', database: 'analytics', params: { min_ratio: 0.6, min_rows: 20 } });
    expect(c.description).toBe('First line of the description, continued here.');
    expect(c.sql.startsWith('select ')).toBe(true);
  });

  it('makes $date and the params positional in order of first use, binding only what the query uses', () => {
    const q = boundQuery(parseCheck('sample.sql', FILE), '2024-03-05');
    expect(q.text).toContain('$1::numeric < 1 and $2::date is not null and $3::numeric > $1::numeric');
    expect(q.values).toEqual([0.6, '2024-03-05', 20]);
    const noDate = boundQuery(parseCheck('sample.sql', FILE.replace('$date is not null', 'true')), '2024-03-05');
    expect(noDate.values).toEqual([0.6, 20]);
  });

  it('refuses a file whose name, severity, description or parameters are wrong, naming the file', () => {
    expect(() => parseCheck('other.sql', FILE)).toThrow(/other\.sql: .*must name it other, got sample/);
    expect(() => parseCheck('sample.sql', FILE.replace('blocking', 'fatal'))).toThrow(/sample\.sql: severity must be blocking or warning/);
    expect(() => parseCheck('sample.sql', FILE.replace(/-- description:.*\n.*\n/, ''))).toThrow(/no "-- description:"/);
    expect(() => parseCheck('sample.sql', FILE.replace('$min_rows >', '$max_rows >'))).toThrow(/uses \$max_rows, which is neither/);
    expect(() => parseCheck('sample.sql', FILE.replace('min_rows = 20', 'min_rows = twenty'))).toThrow(/param line must read/);
    expect(() => parseCheck('sample.sql', FILE.replace('-- param: min_rows = 20', '-- param: min_rows = 20\n-- param: unused = 1'))).toThrow(/param unused is declared but its query never uses \$unused/);
  });

  it('applies ETL_DATA_CHECKS: a threshold, a severity, off; unknown names are errors', () => {
    const base = [parseCheck('sample.sql', FILE)];
    const [c] = applyOverrides(base, ' sample.min_ratio = 0.4 , sample.severity=warning');
    expect(c).toMatchObject({ severity: 'warning', params: { min_ratio: 0.4, min_rows: 20 } });
    expect(base[0]!.params.min_ratio).toBe(0.6); // the loaded checks are not changed
    expect(applyOverrides(base, 'sample.severity=off')).toEqual([]);
    expect(() => applyOverrides(base, 'nope.min_ratio=1')).toThrow(/no check named nope \(checks: sample\)/);
    expect(() => applyOverrides(base, 'sample.max=1')).toThrow(/sample has no param max \(params: min_ratio, min_rows\)/);
    expect(() => applyOverrides(base, 'sample.min_ratio=lots')).toThrow(/must be a number of 0 or more, got lots/);
    expect(() => applyOverrides(base, 'sample.min_ratio=-1')).toThrow(/must be a number of 0 or more, got -1/);
    expect(() => applyOverrides(base, 'sample.severity=loud')).toThrow(/blocking, warning or off/);
    expect(() => applyOverrides(base, 'sample')).toThrow(/must read check.param=number/);
  });

  it('keeps facts_have_dimensions blocking: it stands in for the fact tables\' foreign keys', () => {
    const all = loadDataChecks();
    for (const value of ['off', 'warning']) {
      expect(() => applyOverrides(all, `facts_have_dimensions.severity=${value}`)).toThrow(/facts_have_dimensions stays blocking .*cannot be (off|warning)/);
    }
    expect(applyOverrides(all, 'facts_have_dimensions.severity=blocking').find((c) => c.name === 'facts_have_dimensions')?.severity).toBe('blocking');
  });

  it('the shipped checks all parse, and include the blocking ones the docs promise', () => {
    const checks = loadDataChecks();
    const by = Object.fromEntries(checks.map((c) => [c.name, c]));
    for (const name of ['revenue_reconciles', 'facts_have_dimensions', 'no_negative_amounts', 'zero_prices', 'orders_volume']) expect(by[name]?.severity, name).toBe('blocking');
    for (const name of ['no_future_dates', 'events_volume', 'quarantine_share', 'transform_quarantine_share']) expect(by[name]?.severity, name).toBe('warning');
    expect(by.quarantine_share?.database).toBe('staging');
  });
});
