/**
 * The simulated clock every channel shares in replay and live mode: simulated time starts at
 * `from` and runs `speed` times faster than the wall clock. Live mode is from = now, speed = 1.
 */
export interface SimClock {
  /** Simulated now, epoch ms. */
  now(): number;
  /** Wall-clock ms until the simulated clock reaches `t` (0 when it has passed). */
  msUntil(t: number): number;
  readonly speed: number;
}

export function simClock(from: number, speed: number, wallStart = Date.now()): SimClock {
  if (!(speed > 0)) throw new Error(`speed must be a positive number, got ${speed}`);
  return {
    speed,
    now: () => from + (Date.now() - wallStart) * speed,
    msUntil: (t) => Math.max(0, (t - from) / speed - (Date.now() - wallStart)),
  };
}

export const liveClock = (): SimClock => simClock(Date.now(), 1);

/** Resolves after ms, or at once when the signal aborts; long waits are fine. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, Math.min(ms, 2 ** 31 - 1));
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
