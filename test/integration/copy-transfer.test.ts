import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transferRows } from '../../lib/copy-transfer';
import { pseudonym } from '../../lib/pseudonym';
import { testEnv, type TestEnv } from '../support/env';

/**
 * lib/copy-transfer.ts between the two real databases, as the transform extract moves a window:
 * COPY's binary format when both sides' column types are the same built-in ones, text otherwise,
 * and either way the user id column reaches analytics only as its pseudonym, asked for once per id
 * (the transfer remembers the answers; the extract's function does not).
 */
describe('transferRows between staging and analytics (real PostgreSQL)', () => {
  let env: TestEnv;
  const KEY = 'copy-transfer-test-key';
  // Ids COPY's text format escapes (tab, newline, backslash, \b, \f, \v), multi-byte ones, blanks and a null.
  const IDS = ['U1', 'Zoë 😀', 'u\tx', 'a\nb', 'back\\slash', 'b\bf\fv\v', '  ', '\v', null, 'U1'];

  beforeAll(async () => {
    env = await testEnv('copy-transfer');
  });
  afterAll(async () => {
    await env?.close();
  });

  // The third case asks for text (bench/copy-formats.ts compares the two formats so).
  for (const [userType, format, asked] of [['text', 'binary', 'binary or text'], ['varchar(40)', 'text', 'binary or text'], ['text', 'text', 'text']] as const) {
    it(`moves a ${userType} user id column in the ${format} format (asked: ${asked}), pseudonymised, every other cell as it was`, async () => {
      const src = await env.deps.staging.connect();
      const dst = await env.deps.analytics.connect();
      try {
        await src.query(`create temp table _src (n int, user_id ${userType}, price numeric(14, 2), ts timestamptz)`);
        await src.query(`insert into _src select i, (array[${IDS.map((_, i) => `$${i + 1}::text`).join(', ')}])[i], i * 1.25, timestamptz '2024-03-01 12:00:00+00' + i * interval '1 second'
                         from generate_series(1, ${IDS.length}) i`, IDS);
        await dst.query('create temp table _dst (n int, customer_id text, price numeric(14, 2), ts timestamptz)');
        const asks: string[] = [];
        const f = (id: string) => {
          asks.push(id);
          return pseudonym(id, KEY);
        };
        const used = await transferRows(src, 'select n, user_id, price, ts from _src', dst, '_dst', ['n', 'customer_id', 'price', 'ts'], { index: 1, f }, asked);
        expect(used).toBe(format);
        // U1 comes twice; blanks and the null are never asked for.
        expect(asks.sort()).toEqual([...new Set(IDS.filter((v): v is string => v !== null && v.trim() !== ''))].sort());
        const { rows } = await dst.query<{ n: number; customer_id: string | null; price: string; ts: Date }>('select n, customer_id, price, ts from _dst order by n');
        expect(rows.map((r) => r.customer_id)).toEqual(IDS.map((v) => (v === null || v.trim() === '' ? null : pseudonym(v, KEY))));
        expect(rows.map((r) => [r.n, r.price, r.ts.toISOString()])).toEqual(IDS.map((_, i) => [i + 1, (1.25 * (i + 1)).toFixed(2), new Date(Date.UTC(2024, 2, 1, 12, 0, i + 1)).toISOString()]));
        for (const raw of IDS) if (raw !== null) expect(rows.some((r) => r.customer_id === raw)).toBe(false);
      } finally {
        // Closed, not returned: their temp tables go with the sessions, and a COPY a failure left
        // open cannot hold up a statement queued behind it.
        src.release(true);
        dst.release(true);
      }
    });
  }
});
