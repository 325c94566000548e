/**
 * A transform backfill over a past range, run after the catalog was ingested now (as `etl backfill
 * catalog --initial`, then `etl backfill transform --from … --to …`): the users and products updated
 * before the range must still reach the dimensions, not stay inferred (`unknown`). A backfill reads
 * every version of the two dimension sources up to its window's end (activities/transform/sources.ts,
 * dimensionRows); a scheduled run reads what arrived or changed in its window. Real Temporal,
 * PostgreSQL and S3.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pseudonym } from '../../lib/pseudonym';
import { generateDataset } from '../../shop/generator';
import { backfillWorkflow } from '../../workflows';
import { testEnv, type TestEnv } from '../support/env';
import { seedStaging } from '../support/transform-seed';

describe('a transform backfill over a past range after a catalog load ingested now (real Temporal, PostgreSQL, S3)', () => {
  let env: TestEnv;
  let prefix: string;
  let range: { start: string; end: string };
  let dir: string;

  beforeAll(async () => {
    env = await testEnv('transform-backfill-dims');
    prefix = `bd${randomUUID().slice(0, 6)}-`;
    const day = new Date(Date.UTC(2031, 0, 1) + randomInt(0, 20000) * 86_400_000).toISOString().slice(0, 10);
    dir = mkdtempSync(join(tmpdir(), 'etl-backfill-dims-'));
    const { manifest } = await generateDataset({ seed: 11, start: day, days: 1, scale: 0.01, dirt: 'none', out: dir });
    range = { start: manifest.range.start, end: manifest.range.end };
    // Everything ingested now: the catalog's users and products were updated long before the range.
    await seedStaging(env.deps.staging, dir, prefix, `test/${prefix}`);
  }, 300_000);
  afterAll(async () => {
    await env?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('brings every staged user and product into the dimensions, none of the range\'s customers inferred', async () => {
    const { rows: old } = await env.deps.staging.query<{ n: string }>('select count(*) n from staging.users where user_id like $1 and updated_at < $2', [`${prefix}%`, range.start]);
    expect(Number(old[0]?.n)).toBeGreaterThan(0); // the case at stake: users updated before the range
    const out = await env.withWorker(() => env.client.workflow.execute(backfillWorkflow, {
      taskQueue: env.taskQueue, workflowId: `backfill-test/transform-dims/${prefix}`,
      args: [{ pipelines: ['transform'], from: range.start, to: range.end, concurrency: 2, runSizes: { transform: 0 } }],
    }));
    expect(out).toMatchObject({ failed: 0, completed: 1 });

    const users = (await env.deps.staging.query<{ user_id: string }>('select distinct user_id from staging.users where user_id like $1', [`${prefix}%`])).rows
      .map((r) => pseudonym(r.user_id, env.config.PSEUDONYM_KEY));
    const { rows: dims } = await env.deps.analytics.query<{ n: string; inferred: string }>(
      'select count(*) n, count(*) filter (where inferred) inferred from dim_customer where customer_id = any($1)', [users]);
    expect({ users: Number(dims[0]?.n), inferred: Number(dims[0]?.inferred) }).toEqual({ users: users.length, inferred: 0 });
    const { rows: products } = await env.deps.analytics.query<{ n: string }>(
      'select count(*) n from dim_product where product_id like $1 and inferred', [`${prefix}%`]);
    expect(Number(products[0]?.n)).toBe(0);
    const { rows: facts } = await env.deps.analytics.query<{ customers: string; inferred: string }>(
      `select count(distinct f.customer_id) customers, count(distinct f.customer_id) filter (where c.inferred) inferred
       from fact_order_line f join dim_customer c using (customer_id) where f.order_id like $1`, [`${prefix}%`]);
    expect(Number(facts[0]?.customers)).toBeGreaterThan(0);
    expect(Number(facts[0]?.inferred)).toBe(0);
  }, 300_000);
});
