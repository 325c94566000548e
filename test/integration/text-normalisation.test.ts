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

  it('case-folds accented capitals, so one category keeps one key', async () => {
    const { rows } = await analytics.query<{ k: string }>(`select lower(work.norm_text('CAFÉ  Supplies')) as k`);
    expect(rows[0]?.k).toBe('café supplies');
  });
});
