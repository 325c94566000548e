/**
 * Recovery from the raw lake alone (docs/recovery.md): a generated dataset goes through the REAL
 * ingestion workflows (catalog, orders, files, events) and the transform, into a lake of its own.
 * Checksums of staging, the bookkeeping that matters (loaded files, Kafka offsets), analytics and
 * the curated Parquet are taken; then every staging and analytics table is truncated, curated/ is
 * deleted and the sources are switched off. `rebuildWorkflow` must bring every checksum back, and a
 * second rebuild must change nothing.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, getObjectBytes, listObjects, putObject } from '../../lib/s3';
import { generateDataset } from '../../shop/generator';
import type { ChildProcess } from 'node:child_process';
import { rebuildWorkflow, type RebuildOutput } from '../../workflows/rebuild';
import { testEnv, type TestEnv } from '../support/env';
import { ingestAndTransform, serveDataset, tagIds, type ServedDataset } from '../support/pipelines-run';
import { analyticsChecksums, curatedChecksums, stagingChecksums, truncateAll } from '../support/rebuild-checks';
import { expectedMetrics } from '../support/transform-expected';
import { anyActivityRetried, startWorkerProcess, until } from '../support/wait';

describe('rebuild from the raw lake alone (real Temporal, PostgreSQL, Kafka, S3)', () => {
  let env: TestEnv;
  let served: ServedDataset | undefined;
  let dir: string;
  const tag = `rb${randomUUID().slice(0, 6)}`;
  const group = `pipelines-${tag}`;
  let bucket: string;

  const checksums = async (): Promise<Record<string, string>> => ({
    ...(await stagingChecksums(env.deps.staging)), ...(await analyticsChecksums(env.deps.analytics)), ...(await curatedChecksums(env.deps.s3, bucket)),
  });

  beforeAll(async () => {
    bucket = `${process.env.S3_BUCKET ?? 'shop-lake-test'}-${tag}`.slice(0, 63);
    // Pages of 50: the orders raw zone holds several pages, as a real shop's would.
    env = await testEnv('rebuild', { ...process.env, S3_BUCKET: bucket, ORDERS_API_PAGE_SIZE: '50' });
    await env.deps.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    dir = mkdtempSync(join(tmpdir(), 'etl-rebuild-'));
    const { manifest } = await generateDataset({ seed: 23, start: '2024-06-03', days: 2, scale: 0.02, dirt: 'default', out: dir });
    tagIds(dir, tag);
    served = await serveDataset(env, dir, tag);
    await ingestAndTransform(env, served, {
      ordersFrom: manifest.range.start, ordersTo: new Date(Date.parse(manifest.range.end) + 7 * 86_400_000).toISOString(),
      expectedEvents: [...expectedMetrics(dir, '').traffic.values()].reduce((a, b) => a + b, 0),
    });
  }, 600_000);
  afterAll(async () => {
    await served?.stop();
    if (env) {
      await deletePrefix(env.deps.s3, bucket, '').catch(() => undefined);
      await env.deps.s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      await env.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('brings back every checksum of staging, analytics and the curated lake with the sources off, through a worker killed -9 mid-rebuild; a second rebuild changes nothing', async () => {
    const topic = served!.topic;
    const before = await checksums();
    expect(Number(before['staging.events']?.split(':')[0])).toBeGreaterThan(100);
    expect(Number(before['analytics.fact_order_line']?.split(':')[0])).toBeGreaterThan(10);
    expect(Object.keys(before).filter((k) => k.startsWith('curated/')).length).toBeGreaterThan(5);

    // A crash between an events range's raw write and its commit leaves a raw object that a later
    // range overlaps (docs/ingestion.md): planted as the first part of a real range.
    const raw = (await listObjects(env.deps.s3, bucket, 'raw/events/')).map((o) => o.key);
    const range = raw.map((key) => ({ key, m: /-p(\d+)-(\d+)-(\d+)\.jsonl$/.exec(key) })).find((x) => x.m && Number(x.m[3]) - Number(x.m[2]) > 10);
    expect(range, raw.join(', ')).toBeDefined();
    const [, p, from] = range!.m!;
    const lines = Buffer.from(await getObjectBytes(env.deps.s3, bucket, range!.key)).toString('utf8').split('\n').slice(0, 5);
    await putObject(env.deps.s3, bucket, range!.key.replace(/-p\d+-\d+-\d+\.jsonl$/, `-p${p}-${from}-${Number(from) + 4}.jsonl`), `${lines.join('\n')}\n`);

    // The sources go away (shop database, orders API, Kafka topic, drop zone), and so does everything but raw/.
    await served?.stop();
    served = undefined;
    await truncateAll(env.deps.staging, env.deps.analytics);
    await deletePrefix(env.deps.s3, bucket, 'curated/');
    expect((await checksums())['staging.events']).toMatch(/^0:/);

    // The first rebuild runs in a worker process that is killed -9 while the replay of events
    // partition 0 waits for its offsets lock, which the test holds: what committed before stays,
    // and a second worker finishes the rebuild.
    const testBucket = process.env.S3_BUCKET;
    process.env.S3_BUCKET = bucket; // the worker processes inherit it
    const taskQueue = `${env.taskQueue}-kill`;
    const lockKey = `etl.kafka_offsets/${group}/${topic}/0`;
    const holder = await env.deps.staging.connect();
    let worker: ChildProcess | undefined;
    let first: RebuildOutput;
    try {
      await holder.query('select pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
      worker = await startWorkerProcess(taskQueue);
      const handle = await env.client.workflow.start(rebuildWorkflow, { taskQueue, workflowId: `rebuild/${tag}/1`, args: [{ consumerGroup: group }] });
      // Partition 0's replay waits for the lock for as long as the test holds it; the other lanes go
      // on and commit loads meanwhile: wait for both, so the kill lands on a rebuild half done.
      await until('the events replay waiting for the held offsets lock, and other loads committed', async () => ((await env.deps.staging.query(
        `select 1 where exists (select 1 from pg_locks l join pg_stat_activity a using (pid) where l.locktype = 'advisory' and not l.granted and a.datname = current_database())
           and exists (select 1 from etl.loads where status = 'succeeded')`)).rowCount ? true : undefined), 120_000);
      const { rows: committed } = await env.deps.staging.query<{ load_id: string; finished_at: Date }>(`select load_id, finished_at from etl.loads where status = 'succeeded' order by 1`);
      worker.kill('SIGKILL');
      await holder.query('select pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]);
      worker = await startWorkerProcess(taskQueue);
      first = await handle.result();
      // Nothing that committed before the kill was loaded again.
      const { rows: later } = await env.deps.staging.query<{ load_id: string; finished_at: Date }>(`select load_id, finished_at from etl.loads where load_id = any($1) order by 1`, [committed.map((c) => c.load_id)]);
      expect(later).toEqual(committed);
      expect(committed.length).toBeGreaterThan(0);
      expect(await anyActivityRetried(env.client, `rebuild/${tag}/1`)).toBe(true);
    } finally {
      worker?.kill('SIGKILL');
      holder.release();
      process.env.S3_BUCKET = testBucket;
    }
    expect(first.inexactObjects).toEqual([]);
    expect(first.totals.loaded).toBeGreaterThan(0);
    expect(first.totals.objects).toBeGreaterThan(raw.length + 5); // every events range and the planted one, orders pages, catalog, files
    const after = await checksums();
    expect(after).toEqual(before);

    // The second one continues as new after every 2 units: the carried state must add up the same.
    const second = await env.withWorker(() => env.client.workflow.execute(rebuildWorkflow, { taskQueue: env.taskQueue, workflowId: `rebuild/${tag}/2`, args: [{ consumerGroup: group, maxUnitsPerRun: 2 }] }));
    expect(second.continuedAsNew).toBe(Math.ceil(second.total / 2) - 1);
    expect(second.continuedAsNew).toBeGreaterThan(1);
    expect(second.done).toBe(second.total);
    expect(second.totals.objects).toBe(first.totals.objects);
    expect(second.totals.loaded).toBe(0);
    expect(await checksums()).toEqual(before);
  }, 600_000);
});
