/**
 * Fault injection for the orders API: rate limiting, server errors, slow answers and hung
 * connections, drawn from a seeded PRNG so a test sees the same faults on every run.
 */
import { Rng } from '../generator/prng';

/** Rates are probabilities per /orders request; their sum must be at most 1. */
export interface FaultOptions {
  seed?: number;
  rateLimitRate?: number;
  retryAfterSeconds?: number;
  serverErrorRate?: number;
  slowRate?: number;
  slowMs?: number;
  timeoutRate?: number;
  timeoutSeconds?: number;
}

export type Fault =
  | { kind: 'none' }
  | { kind: 'rate_limited'; retryAfterSeconds: number }
  | { kind: 'server_error'; status: 500 | 502 | 503 }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'timeout'; holdMs: number };

export interface FaultCounts { rate_limited: number; server_error: number; slow: number; timeout: number; total: number }

const STATUSES = [500, 502, 503] as const;

export class FaultInjector {
  private readonly rng: Rng;
  private readonly o: Required<FaultOptions>;
  readonly counts: FaultCounts = { rate_limited: 0, server_error: 0, slow: 0, timeout: 0, total: 0 };

  constructor(options: FaultOptions = {}) {
    this.o = {
      seed: 1, rateLimitRate: 0, retryAfterSeconds: 1, serverErrorRate: 0, slowRate: 0, slowMs: 2000,
      timeoutRate: 0, timeoutSeconds: 30, ...dropUndefined(options),
    };
    const rates = [this.o.rateLimitRate, this.o.serverErrorRate, this.o.slowRate, this.o.timeoutRate];
    if (rates.some((r) => !(r >= 0 && r <= 1)) || rates.reduce((a, b) => a + b, 0) > 1 + 1e-9) {
      throw new Error('fault rates must each be in [0, 1] and sum to at most 1 (rate-limit + server-error + slow + timeout)');
    }
    this.rng = new Rng(this.o.seed, 'orders-api-faults');
  }

  /** One draw per request, so the n-th request's fault depends only on the seed and n. */
  next(): Fault {
    const u = this.rng.next();
    const pick = this.rng.next();
    let edge = this.o.rateLimitRate;
    if (u < edge) return this.count({ kind: 'rate_limited', retryAfterSeconds: this.o.retryAfterSeconds });
    edge += this.o.serverErrorRate;
    if (u < edge) return this.count({ kind: 'server_error', status: STATUSES[Math.floor(pick * 3)] ?? 500 });
    edge += this.o.slowRate;
    if (u < edge) return this.count({ kind: 'slow', delayMs: this.o.slowMs });
    edge += this.o.timeoutRate;
    if (u < edge) return this.count({ kind: 'timeout', holdMs: this.o.timeoutSeconds * 1000 });
    return { kind: 'none' };
  }

  private count(f: Exclude<Fault, { kind: 'none' }>): Fault {
    this.counts[f.kind]++;
    this.counts.total++;
    return f;
  }
}

function dropUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
