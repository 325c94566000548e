/**
 * MISSION's text rule (trim, collapse inner whitespace, NFC) and case-folded grouping keys must hold
 * for non-ASCII text inside PostgreSQL too: the cluster's locale decides what `\s` and lower() mean.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { makePool } from '../../lib/clients';

const analytics = makePool(loadConfig(), 'analytics', 1);
afterAll(async () => analytics.end());

describe('text normalisation in the analytics database', () => {
  it('collapses and trims Unicode spaces and composes to NFC', async () => {
    const { rows } = await analytics.query<{ t: string }>(
      `select work.norm_text(E' \\u00a0Cafe\\u0301\\u2003\\u2003Bar\\u00a0\\t') as t`);
    expect(rows[0]?.t).toBe('Café Bar');
  });

  it('its fast path for plain ASCII gives what the full rule gives, on 20,000 random strings', async () => {
    // Built from spaces, every ASCII whitespace, printable edges (! ~), DEL, a control character and
    // a decomposed é, so both paths (and the border between them) are taken.
    const { rows } = await analytics.query<{ s: string; fast: string | null; full: string | null }>(
      `with pool as (select array[' ', ' ', E'\\t', E'\\n', E'\\r', chr(11), chr(12), 'a', 'Z', '!', '~', '0', chr(127), chr(1), E'e\\u0301', chr(160)] as c),
            strs as (select i, (select string_agg(c[1 + floor(random() * array_length(c, 1))::int], '') from pool, generate_series(1, 1 + (i % 9)) where i > 0) as s
                     from generate_series(1, 20000) i)
       select s, work.norm_text(s) as fast, nullif(btrim(regexp_replace(normalize(s, NFC), '\\s+', ' ', 'g')), '') as full from strs`);
    expect(rows).toHaveLength(20_000);
    expect(rows.filter((r) => r.fast !== r.full)).toEqual([]);
    expect(rows.filter((r) => r.s !== r.full).length).toBeGreaterThan(1000);
    expect(rows.filter((r) => r.s === r.full).length).toBeGreaterThan(1000);
  });

  it('case-folds accented capitals, so one category keeps one key', async () => {
    const { rows } = await analytics.query<{ k: string }>(`select lower(work.norm_text('CAFÉ  Supplies')) as k`);
    expect(rows[0]?.k).toBe('café supplies');
  });
});
