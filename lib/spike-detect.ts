/**
 * Spike detection for per-minute event counts: a robust z-score of a closed minute against the
 * trailing window of minutes in which the stream was alive. Pure code; docs/realtime.md explains
 * the choice (median/MAD rather than EWMA: the verdict for a minute depends only on the minutes
 * before it, so re-evaluating after a crash or a late correction gives the same answer).
 */

export interface SpikeSettings {
  /** Trailing minutes considered (the judged minute excluded). */
  windowMinutes: number;
  /** Fewest minutes with data in the window before any verdict: a young stream raises nothing. */
  minHistory: number;
  /** Robust z-score at or above which a minute is a spike. */
  z: number;
  /** The observed count must also be at least this multiple of the expected one... */
  minRatio: number;
  /** ...and exceed it by at least this many events, so quiet event types do not page anyone. */
  minExcess: number;
}

export const DEFAULT_SPIKE_SETTINGS: SpikeSettings = { windowMinutes: 30, minHistory: 10, z: 6, minRatio: 2, minExcess: 20 };

export interface SpikeVerdict { spike: boolean; judged: boolean; expected: number; score: number }

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * `history`: the counts of the event type in the window's minutes that had any event (0 when the
 * type had none that minute). The scale is the larger of 1.4826 x MAD (the normal-consistent
 * deviation) and the Poisson noise sqrt(median), so a perfectly flat history (MAD 0) does not turn
 * every extra event into an infinite score.
 */
export function judgeMinute(history: readonly number[], observed: number, s: SpikeSettings): SpikeVerdict {
  const expected = median(history);
  if (history.length < s.minHistory) return { spike: false, judged: false, expected, score: 0 };
  const mad = median(history.map((v) => Math.abs(v - expected)));
  const scale = Math.max(1.4826 * mad, Math.sqrt(Math.max(expected, 1)));
  const score = (observed - expected) / scale;
  const spike = score >= s.z && observed >= s.minRatio * expected && observed - expected >= s.minExcess;
  return { spike, judged: true, expected, score };
}

export interface MinuteSeries {
  /** Minutes (epoch ms, ascending) in which the stream had any event. */
  alive: readonly number[];
  /** Count per minute (epoch ms) of one event type; absent = 0. */
  counts: ReadonlyMap<number, number>;
}

const MINUTE = 60_000;

/** The verdict for `minute` of one event type, from the series around it. */
export function judgeInSeries(series: MinuteSeries, minute: number, s: SpikeSettings): SpikeVerdict & { observed: number } {
  const from = minute - s.windowMinutes * MINUTE;
  const history = series.alive.filter((m) => m >= from && m < minute).map((m) => series.counts.get(m) ?? 0);
  const observed = series.counts.get(minute) ?? 0;
  return { ...judgeMinute(history, observed, s), observed };
}

export interface Episode { start: number; last: number; observed: number; expected: number; score: number; peak: number }

export interface ExistingAlert { start: number; last: number; peak: number }

export type EpisodeAction =
  | { kind: 'covered'; start: number }
  | { kind: 'extend'; start: number; last: number; peak: number }
  | { kind: 'raise'; episode: Episode };

/**
 * What a spike at `minute` does to the alerts of its event type: nothing if an alert already covers
 * it, extends an alert that ended the minute before, or raises a new one keyed by this minute.
 */
export function episodeAction(existing: readonly ExistingAlert[], minute: number, v: { observed: number; expected: number; score: number }): EpisodeAction {
  const covering = existing.find((a) => a.start <= minute && minute <= a.last);
  if (covering) return { kind: 'covered', start: covering.start };
  const before = existing.find((a) => a.last === minute - MINUTE);
  if (before) return { kind: 'extend', start: before.start, last: minute, peak: Math.max(before.peak, v.observed) };
  return { kind: 'raise', episode: { start: minute, last: minute, observed: v.observed, expected: v.expected, score: v.score, peak: v.observed } };
}
