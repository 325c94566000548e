import { describe, expect, it } from 'vitest';
import { ChurnPlanError, churnDates, historyStart, maxHorizonDays, MAX_TRAIN_CUTOFFS } from '../../activities/churn/plan';

const days = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / 86_400_000;

describe('churn plan dates (activities/churn/plan.ts)', () => {
  it('tests at cutoff - N and trains at earlier cutoffs whose label windows end by the test cutoff', () => {
    const d = churnDates('2026-03-29', 9, '2026-03-01');
    expect(d).toEqual({ cutoff: '2026-03-29', testCutoff: '2026-03-20', trainCutoffs: ['2026-03-08', '2026-03-11'], horizonDays: 9, stepDays: 3 });
    for (const c of d.trainCutoffs) expect(days(c, d.testCutoff)).toBeGreaterThanOrEqual(d.horizonDays);
    // At least a week (or N) of history before every training cutoff.
    expect(days('2026-03-01', d.trainCutoffs[0]!)).toBeGreaterThanOrEqual(7);
  });

  it('steps a quarter of the horizon, at least a day, and keeps the latest cutoffs when the history is long', () => {
    expect(churnDates('2026-01-10', 1, '2026-01-01').trainCutoffs).toEqual(['2026-01-02', '2026-01-03', '2026-01-04', '2026-01-05', '2026-01-06', '2026-01-07', '2026-01-08']);
    const long = churnDates('2027-01-01', 30, '2024-01-01');
    expect(long.stepDays).toBe(8);
    expect(long.trainCutoffs).toHaveLength(MAX_TRAIN_CUTOFFS);
    expect(long.trainCutoffs.at(-1)).toBe('2026-11-02');
  });

  it('names the dates when the history is too short, and refuses a horizon below a day', () => {
    expect(() => churnDates('2026-01-05', 2, '2026-01-01')).toThrow(ChurnPlanError);
    expect(() => churnDates('2026-01-05', 2, '2026-01-01')).toThrow(/too little history for cutoff 2026-01-05: with a horizon of 2 days the test cutoff is 2026-01-03 and the latest training cutoff 2026-01-01, but the history \(orders and events\) begins on 2026-01-01/);
    expect(() => churnDates('2026-01-05', 0, '2026-01-01')).toThrow(/whole number of days >= 1, got 0/);
  });

  it('caps the horizon at a third of the history, which starts when both orders and events have begun', () => {
    expect(maxHorizonDays('2026-01-10', '2026-01-01')).toBe(3);
    expect(historyStart('2026-01-01', '2026-01-04')).toBe('2026-01-04');
    expect(historyStart('2026-01-05', '2026-01-04')).toBe('2026-01-05');
    expect(historyStart('2026-01-05', null)).toBe('2026-01-05');
    // The capped horizon always fits: a training cutoff exists.
    for (let span = 3; span < 60; span++) {
      const start = '2026-01-01';
      const cutoff = new Date(Date.parse(start) + span * 86_400_000).toISOString().slice(0, 10);
      expect(churnDates(cutoff, maxHorizonDays(cutoff, start), start).trainCutoffs.length, `span ${span}`).toBeGreaterThan(0);
    }
  });
});
