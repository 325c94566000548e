import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { extractSource } from '../../activities/transform/extract';
import { testEnv, type TestEnv } from '../support/env';

/**
 * A transform extract whose target connection dies mid-COPY must fail, not hang: the source
 * connection is then still inside its COPY TO, and a rollback queued behind it waited forever (the
 * activity's timer heartbeat kept the attempt alive, so Temporal never retried it). Found by
 * `npm run chaos:pipelines` with PostgreSQL killed during the transform.
 */
describe('transform extract, connection lost mid-copy (real PostgreSQL)', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await testEnv('extract-broken');
    // Enough rows that the copy is still running when the target connection is cut.
    await env.deps.staging.query(`insert into staging.events (event_id, event_name, user_id, session_id, product_id, order_id, price, ts, kafka_partition, kafka_offset, load_id)
      select 'xb-' || g, 'view', 'U' || (g % 1000), 'S' || (g % 5000), 'P1', null, null, timestamptz '2031-03-01' + g * interval '10 ms', 0, g, 'test/extract-broken'
      from generate_series(1, 600000) g`);
  }, 120_000);
  afterAll(async () => {
    await env?.close();
  });

  it('fails within seconds when the analytics connection is terminated during the transfer, and the pools stay usable', async () => {
    const run = extractSource({ staging: env.deps.staging, analytics: env.deps.analytics, s3: env.deps.s3, bucket: env.deps.bucket, pseudonymKey: env.deps.pseudonymKey },
      { source: 'events', partitionStart: '2031-03-01T00:00:00Z', partitionEnd: '2031-03-02T00:00:00Z', loadId: 'test/extract-broken/1' });
    const outcome = run.then(() => 'completed', (err: unknown) => `failed: ${err instanceof Error ? err.message : String(err)}`);
    // The COPY into the work table, seen from the server: cut that backend.
    let cut = 0;
    for (let i = 0; i < 800 && cut === 0; i++) {
      const { rows } = await env.deps.analytics.query<{ ok: boolean }>(
        `select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = current_database() and query like 'copy _in%' and state = 'active' and pid <> pg_backend_pid()`);
      cut = rows.filter((r) => r.ok).length;
      if (cut === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(cut).toBe(1);
    const result = await Promise.race([outcome, new Promise<string>((r) => setTimeout(() => r('still running after 30 s'), 30_000))]);
    expect(result).toMatch(/^failed: /);
    // Nothing leaked: both pools answer, and a second extract of the same window completes.
    const again = await extractSource({ staging: env.deps.staging, analytics: env.deps.analytics, s3: env.deps.s3, bucket: env.deps.bucket, pseudonymKey: env.deps.pseudonymKey },
      { source: 'events', partitionStart: '2031-03-01T00:00:00Z', partitionEnd: '2031-03-02T00:00:00Z', loadId: 'test/extract-broken/2' });
    expect(again.load.received).toBe(600000);
  }, 180_000);

  it('completes when the staging connection is lost after its copy, while analytics merges, and stores no fingerprint', async () => {
    // A scheduled run's first extract of a window hashes it on the staging connection beside the
    // merge and commits staging after analytics: a lost staging connection then costs the
    // fingerprint (a warning; the next run copies again), not the extract.
    const window = { source: 'events' as const, partitionStart: '2031-03-01T00:00:00Z', partitionEnd: '2031-03-02T00:00:00Z' };
    // Outside an activity the extract logs to the console (activityLog).
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const run = extractSource({ staging: env.deps.staging, analytics: env.deps.analytics, s3: env.deps.s3, bucket: env.deps.bucket, pseudonymKey: env.deps.pseudonymKey },
      { ...window, loadId: 'test/extract-broken/3', changedOnly: true });
    const outcome = run.then((o) => o, (err: unknown) => new Error(`failed: ${err instanceof Error ? err.message : String(err)}`));
    let cut = 0;
    for (let i = 0; i < 1500 && cut === 0; i++) {
      const merging = await env.deps.analytics.query(
        `select 1 from pg_stat_activity where datname = current_database() and query like 'with ins as (insert into work.events%' and state = 'active'`);
      if (merging.rowCount) {
        const { rows } = await env.deps.staging.query<{ ok: boolean }>(
          `select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()
             and query like '%from staging.events where%2031-03-02T00:00:00.000Z%' and state in ('active', 'idle in transaction')`);
        cut = rows.filter((r) => r.ok).length;
      }
      if (cut === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(cut).toBe(1);
    const result = await Promise.race([outcome, new Promise<string>((r) => setTimeout(() => r('still running after 60 s'), 60_000))]);
    const warnings = warn.mock.calls.map((c) => String(c[0]));
    warn.mockRestore();
    if (typeof result === 'string' || result instanceof Error) throw new Error(String(result));
    expect(result.load.received).toBe(600000);
    // One warning for one loss: the hash on the lost connection and its commit fail alike.
    expect(warnings.filter((w) => /fingerprint|staging side/.test(w)), warnings.join('\n')).toEqual([expect.stringMatching(/staging side of work\.events's extract failed after its merge committed/)]);
    expect(result.unchanged).toBeFalsy();
    const stored = await env.deps.analytics.query(`select 1 from work.extract_fingerprints where source = 'events' and window_to = $1::timestamptz`, [window.partitionEnd]);
    expect(stored.rowCount).toBe(0);
    expect((await env.deps.staging.query<{ one: number }>('select 1 as one')).rows[0]?.one).toBe(1);
  }, 180_000);

  // Lost (terminated): the hash and the commit both fail, one warning. Cancelled: only the hash fails
  // (the commit of the aborted transaction rolls back without an error), the fingerprint's warning.
  for (const [how, said] of [['terminate', /staging side of work\.events's extract failed after its merge committed/], ['cancel', /fingerprint of work\.events's window failed/]] as const) {
    it(`completes when the window's hash is stopped (pg_${how}_backend), with one warning, and stores no fingerprint`, async () => {
      const window = { source: 'events' as const, partitionStart: '2031-03-01T00:00:00Z', partitionEnd: '2031-03-02T00:00:00Z' };
      await env.deps.analytics.query(`delete from work.extract_fingerprints where source = 'events' and window_to = $1::timestamptz`, [window.partitionEnd]);
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      const run = extractSource({ staging: env.deps.staging, analytics: env.deps.analytics, s3: env.deps.s3, bucket: env.deps.bucket, pseudonymKey: env.deps.pseudonymKey },
        { ...window, loadId: `test/extract-broken/hash-${how}`, changedOnly: true });
      const outcome = run.then((o) => o, (err: unknown) => new Error(`failed: ${err instanceof Error ? err.message : String(err)}`));
      let cut = 0;
      for (let i = 0; i < 3000 && cut === 0; i++) {
        const { rows } = await env.deps.staging.query<{ ok: boolean }>(
          `select pg_${how}_backend(pid) as ok from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()
             and query like 'select count(*)::text as n, sum(hashint8extended%2031-03-02T00:00:00.000Z%' and state = 'active'`);
        cut = rows.filter((r) => r.ok).length;
      }
      const result = await Promise.race([outcome, new Promise<string>((r) => setTimeout(() => r('still running after 60 s'), 60_000))]);
      const warnings = warn.mock.calls.map((c) => String(c[0])).filter((w) => /fingerprint|staging side/.test(w));
      warn.mockRestore();
      expect(cut).toBe(1);
      if (typeof result === 'string' || result instanceof Error) throw new Error(String(result));
      expect(result.load.received).toBe(600000);
      expect(warnings, warnings.join('\n')).toEqual([expect.stringMatching(said)]);
      const stored = await env.deps.analytics.query(`select 1 from work.extract_fingerprints where source = 'events' and window_to = $1::timestamptz`, [window.partitionEnd]);
      expect(stored.rowCount).toBe(0);
      expect((await env.deps.staging.query<{ one: number }>('select 1 as one')).rows[0]?.one).toBe(1);
    }, 180_000);
  }
});
