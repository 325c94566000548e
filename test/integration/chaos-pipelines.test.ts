import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { closeEventReaders } from '../../activities/events/reader';
import { runPipelinesChaos } from '../support/chaos-pipelines';

/**
 * The short chaos run of all pipelines (issue 13; the long one is `npm run chaos:pipelines`,
 * docs/reliability.md): a generated day through catalog, orders, files, the events stream, the
 * realtime loop and the transform, once clean and once with three kill -9s of the worker, a
 * PostgreSQL restart, a transform started by hand during the ingestion, a Kafka range produced again
 * and 20% faults on the orders API. Both runs must leave the same rows everywhere. It kills the PostgreSQL every test uses:
 * vitest runs test files one at a time (vitest.config.ts, fileParallelism false).
 */
describe('chaos, short: all pipelines through worker kills, a PostgreSQL restart, a hand-started transform and a faulty orders API (real services)', () => {
  it('leaves every staging, analytics, realtime and curated table identical to a clean run', async () => {
    const lines: string[] = [];
    const report = await runPipelinesChaos(loadConfig(), { days: 1, scale: 0.03, seed: 5, faults: ['worker', 'transform', 'worker', 'postgres', 'worker', 'kafka-dup'], gapSeconds: [0.5, 2], transformFaults: 0, log: (l) => { lines.push(l); process.stderr.write(`${l}\n`); } });
    console.log(lines.join('\n'));
    await closeEventReaders();
    expect(report.problems).toEqual([]);
    expect(report.differ).toEqual([]);
    // The comparison covered every kind of table, and the faults were real.
    const names = Object.keys(report.clean.checksums);
    for (const prefix of ['staging.', 'etl.kafka_offsets', 'analytics.daily_', 'analytics.realtime_minute', 'curated/']) expect(names.some((n) => n.startsWith(prefix))).toBe(true);
    expect(report.chaos.faults.map((f) => f.kind).sort()).toEqual(['kafka-dup', 'postgres', 'transform', 'worker', 'worker', 'worker']);
    // The range produced again was read: its copies are in the events loads, none staged twice.
    expect(report.chaos.reproduced).toHaveLength(1);
    expect(report.chaos.reproduced[0]?.count).toBeGreaterThan(0);
    expect(report.chaos.eventsLoads.received - report.clean.eventsLoads.received).toBe(report.chaos.reproduced[0]?.count);
    // The copies held a bad event, quarantined again (and compared with its original's record).
    expect(report.chaos.eventsLoads.quarantined).toBeGreaterThan(report.clean.eventsLoads.quarantined);
    expect(report.chaos.faultsNotLanded).toEqual([]);
    expect(report.chaos.ordersApiFaults.total).toBeGreaterThan(0);
    expect(report.ok).toBe(true);
  }, 900_000);
});
