import { describe, expect, it } from 'vitest';
import { DEFAULT_SPIKE_SETTINGS as S, episodeAction, judgeInSeries, judgeMinute, median } from '../../lib/spike-detect';

const M = 60_000;
// A flat-ish stream around 100 a minute, deterministic noise of +-10.
const flat = Array.from({ length: 30 }, (_, i) => 100 + ((i * 7) % 21) - 10);

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBe(0);
  });
});

describe('judgeMinute', () => {
  it('does not judge before minHistory minutes of data', () => {
    const v = judgeMinute(flat.slice(0, S.minHistory - 1), 10_000, S);
    expect(v).toMatchObject({ judged: false, spike: false });
  });

  it('raises nothing for values within the noise of a flat stream', () => {
    for (const observed of [80, 100, 125, 140]) expect(judgeMinute(flat, observed, S).spike).toBe(false);
  });

  it('raises a spike for eight times the usual rate', () => {
    const v = judgeMinute(flat, 800, S);
    expect(v.spike).toBe(true);
    expect(v.expected).toBe(median(flat));
    expect(v.score).toBeGreaterThan(S.z);
  });

  it('uses the Poisson floor when the history is perfectly flat (MAD 0)', () => {
    const v = judgeMinute(Array(20).fill(100), 110, S);
    expect(v.score).toBeCloseTo(1, 5); // (110 - 100) / sqrt(100)
    expect(v.spike).toBe(false);
  });

  it('needs the ratio and the excess too: a quiet type going 0 -> 10 is no spike', () => {
    expect(judgeMinute(Array(20).fill(0), 10, S).spike).toBe(false);
    expect(judgeMinute(Array(20).fill(0), 10, { ...S, minExcess: 0 }).spike).toBe(true);
    expect(judgeMinute(Array(20).fill(1000), 1500, { ...S, z: 1 }).spike).toBe(false); // 1.5x < minRatio 2
  });

  it('is robust: one earlier spike in the window does not hide the next', () => {
    const withSpike = [...flat.slice(0, 29), 900];
    expect(judgeMinute(withSpike, 800, S).spike).toBe(true);
  });
});

describe('judgeInSeries', () => {
  const t0 = Date.UTC(2100, 0, 1);
  const alive = Array.from({ length: 40 }, (_, i) => t0 + i * M);
  const counts = new Map(alive.map((m, i) => [m, i === 35 ? 800 : 100 + ((i * 7) % 21) - 10]));

  it('judges against the window before the minute only, counting minutes without the type as 0', () => {
    expect(judgeInSeries({ alive, counts }, t0 + 35 * M, S)).toMatchObject({ spike: true, observed: 800 });
    expect(judgeInSeries({ alive, counts }, t0 + 34 * M, S).spike).toBe(false);
    const sparse = new Map([[t0 + 35 * M, 800]]);
    expect(judgeInSeries({ alive, counts: sparse }, t0 + 35 * M, S)).toMatchObject({ spike: true, expected: 0 });
  });

  it('ignores minutes in which the stream was not alive (a stream start is no history of zeros)', () => {
    const young = alive.slice(30);
    expect(judgeInSeries({ alive: young, counts }, t0 + 35 * M, S).judged).toBe(false);
  });
});

describe('episodeAction', () => {
  const v = { observed: 800, expected: 100, score: 70 };
  it('raises a new alert, extends one that ended the minute before, and skips covered minutes', () => {
    expect(episodeAction([], 5 * M, v)).toMatchObject({ kind: 'raise', episode: { start: 5 * M, last: 5 * M, peak: 800 } });
    expect(episodeAction([{ start: 3 * M, last: 4 * M, peak: 900 }], 5 * M, v)).toEqual({ kind: 'extend', start: 3 * M, last: 5 * M, peak: 900 });
    expect(episodeAction([{ start: 3 * M, last: 6 * M, peak: 900 }], 5 * M, v)).toEqual({ kind: 'covered', start: 3 * M });
    expect(episodeAction([{ start: 1 * M, last: 2 * M, peak: 900 }], 5 * M, v).kind).toBe('raise');
  });
});
