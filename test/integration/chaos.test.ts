import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { closeEventReaders } from '../../activities/events/reader';
import { runChaos } from '../support/chaos';

/**
 * The short chaos run (issue 13; the long one is `npm run chaos`, docs/reliability.md): the events
 * stream with a real worker, three kill -9s of the worker (each started again at once), one of
 * PostgreSQL started again 20 s later, and the Temporal server killed and started 12 s later, while
 * a producer keeps sending and a schedule fires every 3 s. It kills the PostgreSQL and Temporal
 * every test uses: vitest runs test files one at a time (vitest.config.ts, fileParallelism false),
 * so nothing else is connected then.
 */
describe('chaos, short: the events stream through three worker kills, PostgreSQL down 20 s and the Temporal server down 12 s (real services)', () => {
  it('stages every event exactly once, tiles the offsets, and raises no alert for faults it recovered from', async () => {
    const lines: string[] = [];
    const report = await runChaos(loadConfig(), { faults: ['worker', 'worker', 'worker', 'postgres', 'temporal'], seed: 7, rate: 1000, gapSeconds: [1, 3],
      scheduleEverySeconds: 3, temporalDownSeconds: 12, postgresDownSeconds: 20, keepWorkerLog: false, log: (l) => lines.push(l) });
    console.log([...lines, `schedule: ${JSON.stringify(report.schedule)}`].join('\n'));
    await closeEventReaders();
    expect(report.problems).toEqual([]);
    expect(report.faults.map((f) => f.kind).sort()).toEqual(['postgres', 'temporal', 'worker', 'worker', 'worker']);
    // The Temporal server down 12 s: the worker reconnected by itself, and the 3-second schedule ran
    // every window it missed after the restart, in order, and nothing of it was left running.
    expect(report.schedule).toMatchObject({ missed: [], outOfOrder: 0, stillRunning: 0 });
    expect(report.schedule?.caughtUp).toBeGreaterThanOrEqual(3);
    expect(report.staged).toBe(report.events.distinct);
    expect(report.stagedDistinct).toBe(report.events.distinct);
    expect(report.loads.received).toBe(report.events.inTopic);
    expect(report.loads.duplicates).toBe(report.events.inTopic - report.events.distinct);
    // Each worker kill costs its session an attempt; the retry hands the progress back and a fresh
    // session starts, so recovered faults never spend the retry budget and page nobody.
    expect(report.alerts).toEqual([]);
    expect(report.ok).toBe(true);
  }, 900_000);
});
