/**
 * The fuzz suite, fast: about 1,500 seeded bad records (every variant of every field of every
 * source at least once) with valid ones between them, through the real orders API client, shop
 * database, Kafka and file drops, plus eleven hostile orders servers. What landed is counted by
 * query, record by record (test/support/fuzz-ledger.ts). The long run is `npm run fuzz` (docs/fuzz.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAMILIES } from '../support/fuzz-core';
import { KNOWN_GAPS } from '../support/fuzz-known';
import { runFuzz, violations, type FuzzReport } from '../support/fuzz-suite';
import { testEnv, type TestEnv } from '../support/env';

const RSS_BOUND = 1024 * 2 ** 20;

describe('fuzz: bad input of all four sources through the real pipelines', () => {
  let env: TestEnv;
  let report: FuzzReport;
  let cleanUp: () => Promise<void> = async () => undefined;

  beforeAll(async () => {
    env = await testEnv('fuzz');
    ({ report, cleanUp } = await runFuzz(env, { seed: 1, records: 1500, exclude: KNOWN_GAPS, deadlineMs: 120_000 }));
    const line = (s: FuzzReport['sources'][number]) => `${s.source} ${s.bad} bad/${s.totals.received} received in ${s.loads} loads, ${s.seconds} s`;
    console.log(`fuzz: ${report.sources.map(line).join('; ')}; peak RSS ${(report.peakRssBytes / 2 ** 20).toFixed(0)} MiB; ${report.seconds} s (tag ${report.tag})`);
  });
  afterAll(async () => {
    await cleanUp();
    await env?.close();
  });

  it('accounts for every record, quarantines each bad one with a reason naming its field, and lands every valid one', () => {
    expect(violations(report)).toEqual([]);
    for (const s of report.sources) {
      expect(s.failedLoads, s.source).toBe(0);
      expect(s.totals.received, s.source).toBe(s.totals.loaded + s.totals.quarantined + s.totals.duplicates);
      expect(s.totals.quarantined, s.source).toBeGreaterThan(0);
      expect(s.valid, s.source).toBeGreaterThan(0);
    }
    // Fewer than asked for: the known gaps are left out, and a file cut short loses its tail.
    expect(report.sources.reduce((a, s) => a + s.bad, 0)).toBeGreaterThanOrEqual(1200);
    expect(report.sources.find((s) => s.source === 'events')?.totals.duplicates).toBeGreaterThan(0);
  });

  it('covers every family of bad input', () => {
    const seen = new Set(report.sources.flatMap((s) => Object.entries(s.byFamily).filter(([, n]) => n.bad > 0).map(([f]) => f)));
    expect(FAMILIES.filter((f) => !seen.has(f))).toEqual([]);
  });

  it('never stalls: every run ends within its deadline, hostile servers with the error they deserve; RSS stays bounded', () => {
    const runs = report.sources.flatMap((s) => s.scenarios.map((x) => ({ source: s.source, ...x })));
    expect(runs.filter((r) => !r.ok)).toEqual([]);
    const orders = runs.filter((r) => r.source === 'orders').map((r) => r.name);
    expect(orders).toEqual(expect.arrayContaining(['endless cursor', 'repeating cursor', 'slow loris, a byte a second', 'slow loris, no headers', 'body past the cap']));
    expect(runs.filter((r) => r.source === 'files').length).toBeGreaterThanOrEqual(9); // every file shape, the broken header too
    expect(report.peakRssBytes).toBeLessThan(RSS_BOUND);
  });
});
