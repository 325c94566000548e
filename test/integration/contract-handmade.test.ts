/**
 * The dataset contract on data the generator did not write: test/fixtures/dataset-handmade, in the
 * documented layout with the variants it allows (any file names, gzip, null order_ids, offsets,
 * extra fields, non-ASCII text), run through the real ingestion pipelines and the transform. The
 * five contract metrics must equal the numbers worked out by hand in the fixture's expected.json.
 * The independent computation of test/support/transform-expected.ts must agree with them too.
 */
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv, type TestEnv } from '../support/env';
import { ingestAndTransform, serveDataset, type ServedDataset } from '../support/pipelines-run';
import { expectContract, expectedMetrics, freshTestDay, type Expected } from '../support/transform-expected';

const FIXTURE = join(__dirname, '../fixtures/dataset-handmade');

interface HandExpected {
  orders_by_date: Array<[string, number, string]>;
  monthly_revenue: Array<[string, number, string]>;
  daily_traffic: Array<[string, string, number]>;
  daily_unique_visitors: Array<[string, number]>;
  product_sales: Array<[string, string | null, number, string]>;
  total_mismatch_findings: number;
}

const cents = (v: string) => BigInt(v.replace('.', ''));

/** The fixture's months 2029-12 and 2030-01 become `prev` and `month` (YYYY-MM); ids get the tag. */
function rewrite(text: string, tag: string, prev: string, month: string): string {
  return text
    .replace(/\bhm(?=[A-Z])/g, `${tag}hm`)
    .replace(/2029([-/])12\1/g, (_, sep: string) => `${prev.replace('-', sep)}${sep}`)
    .replace(/2030([-/])01\1/g, (_, sep: string) => `${month.replace('-', sep)}${sep}`);
}

function copyFixture(tag: string, prev: string, month: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'etl-handmade-'));
  cpSync(FIXTURE, dir, { recursive: true });
  const files = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? files(join(d, f)) : [join(d, f)]));
  for (const f of files(dir)) {
    if (f.endsWith('.gz')) writeFileSync(f, gzipSync(rewrite(gunzipSync(readFileSync(f)).toString('utf8'), tag, prev, month)));
    else writeFileSync(f, rewrite(readFileSync(f, 'utf8'), tag, prev, month));
  }
  return dir;
}

function handExpected(tag: string, prev: string, month: string): Expected {
  const hand = JSON.parse(rewrite(readFileSync(join(FIXTURE, 'expected.json'), 'utf8'), tag, prev, month)) as HandExpected;
  return {
    ordersByDate: new Map(hand.orders_by_date.map(([d, n, r]) => [d, { orders: n, cents: cents(r) }])),
    monthly: new Map(hand.monthly_revenue.map(([m, n, r]) => [m, { orders: n, cents: cents(r) }])),
    traffic: new Map(hand.daily_traffic.map(([d, e, n]) => [`${d}|${e}`, n])),
    visitors: new Map(hand.daily_unique_visitors),
    productSales: new Map(hand.product_sales.map(([id, name, units, r]) => [id, { name, units, cents: cents(r) }])),
    totalMismatches: hand.total_mismatch_findings,
    maxBusinessTime: 0,
  };
}

describe('the dataset contract on a hand-written dataset (real pipelines, Temporal, PostgreSQL, Kafka, S3)', () => {
  let env: TestEnv;
  let served: ServedDataset;
  let dir: string;
  let hand: Expected;
  const tag = `hw${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    env = await testEnv('contract-handmade');
    const day = await freshTestDay(env.deps.analytics);
    const month = day.slice(0, 7);
    const first = new Date(`${month}-01T00:00:00Z`);
    const prev = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
    dir = copyFixture(tag, prev, month);
    hand = handExpected(tag, prev, month);
    served = await serveDataset(env, dir, tag);
  }, 300_000);
  afterAll(async () => {
    await served?.stop();
    await env?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the independent computation from the brief agrees with the numbers worked out by hand', () => {
    const ex = expectedMetrics(dir, '');
    expect({ ...ex, maxBusinessTime: 0 }).toEqual(hand);
  });

  it('the pipelines produce the five contract metrics exactly as worked out by hand', async () => {
    const months = [...hand.monthly.keys()];
    await ingestAndTransform(env, served, {
      ordersFrom: `${months[0]}T00:00:00.000Z`,
      ordersTo: new Date(Date.parse(`${months[1]}T00:00:00Z`) + 62 * 86_400_000).toISOString(),
      expectedEvents: [...hand.traffic.values()].reduce((a, b) => a + b, 0),
    });
    const dates = [...new Set([...hand.ordersByDate.keys(), ...[...hand.traffic.keys()].map((k) => k.slice(0, 10))])].sort();
    await expectContract(env.deps.analytics, hand, dates, tag);
  }, 600_000);
});
