/**
 * The transform fed by the REAL ingestion workflows (catalog, orders, files, events) from the shop
 * simulator, each isolated: a private shop schema, an orders API on a free port, a Kafka topic and
 * consumer group, a drop prefix, and every id of the dataset tagged so no row is shared with
 * another run. Then the hourly transform, and the contract metrics against the files, to the cent.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Manifest } from '../../contract/manifest';
import { generateDataset } from '../../shop/generator';
import { testEnv, type TestEnv } from '../support/env';
import { ingestAndTransform, serveDataset, tagIds, type ServedDataset } from '../support/pipelines-run';
import { expectContract, expectedMetrics, freshTestDay, type Expected } from '../support/transform-expected';

describe('transform fed by the real ingestion pipelines (simulator, Temporal, PostgreSQL, Kafka, S3)', () => {
  let env: TestEnv;
  let served: ServedDataset;
  let dir: string;
  let manifest: Manifest;
  let ex: Expected;
  const tag = `tp${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    env = await testEnv('transform-pipelines');
    const day = await freshTestDay(env.deps.analytics);
    dir = mkdtempSync(join(tmpdir(), 'etl-transform-pipelines-'));
    ({ manifest } = await generateDataset({ seed: 13, start: day, days: 1, scale: 0.02, dirt: 'default', out: dir }));
    tagIds(dir, tag);
    ex = expectedMetrics(dir, '');
    served = await serveDataset(env, dir, tag);
  }, 300_000);
  afterAll(async () => {
    await served?.stop();
    await env?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ingests through catalog, orders, files and events workflows; the transform then matches the files to the cent', async () => {
    const { range } = manifest;
    await ingestAndTransform(env, served, {
      ordersFrom: range.start, ordersTo: new Date(Date.parse(range.end) + 7 * 86_400_000).toISOString(),
      expectedEvents: [...ex.traffic.values()].reduce((a, b) => a + b, 0),
    });
    const dates = [...new Set([...ex.ordersByDate.keys(), ...[...ex.traffic.keys()].map((k) => k.slice(0, 10))])].sort();
    await expectContract(env.deps.analytics, ex, dates, tag);
  }, 600_000);
});
