/**
 * Wakes the realtime loop when an events load with realtime marks commits, instead of at its next
 * poll. The events hook sends a NOTIFY inside the load's transaction (hook.ts), which PostgreSQL
 * delivers at the commit and only then; this listener, on a connection of its own, turns it into
 * an early end of the loop's idle wait. The poll stays as the fallback: a notification lost with a
 * dropped connection, or a minute that closes by the clock with no load, is still seen within
 * pollMs.
 *
 * Measured (docs/realtime.md): at 20 000 events/s the idle wait was the largest part of the time
 * between a load's commit and its events being visible in analytics.
 */
import { Client, type Pool } from 'pg';

export const REALTIME_CHANNEL = 'etl_realtime_dirty';

/** After a failed connect, polling alone until this much time has passed. */
const RECONNECT_MS = 5000;

export class DirtyWake {
  private client: Client | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;
  private retryAt = 0;
  private notified = false;
  private waiter: (() => void) | null = null;

  constructor(private readonly pool: Pool) {}

  /** Forget earlier notifications: call before a pass reads the marks, so that a load committing during the pass wakes the wait after it. Starts listening on first use. */
  arm(): void {
    this.notified = false;
    void this.listen();
  }

  /** Resolves at the first notification since arm() (at once if one came already). Never rejects; race it with a timer. */
  next(): Promise<void> {
    if (this.notified) return Promise.resolve();
    // Without a listener there is nothing to wait for but the caller's timer.
    return new Promise<void>((resolve) => {
      this.waiter = resolve;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiter = null;
    await this.connecting;
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }

  /** One connection at a time: a connect still under way is waited for, never doubled. */
  private listen(): Promise<void> {
    if (this.closed || this.client || Date.now() < this.retryAt) return Promise.resolve();
    // connect() catches its own failures; the catch here is for anything it could not (never unhandled).
    this.connecting ??= this.connect().catch(() => undefined).finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    let c: Client | null = null;
    const drop = () => {
      if (c && this.client === c) this.client = null;
      c?.end().catch(() => undefined);
    };
    try {
      // The pool keeps its password out of enumeration: passed on by name.
      c = new Client({ ...this.pool.options, password: this.pool.options.password, application_name: 'shop-etl:realtime-wake', connectionTimeoutMillis: RECONNECT_MS, query_timeout: RECONNECT_MS, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
      c.on('error', drop);
      c.on('end', drop);
      c.on('notification', () => {
        this.notified = true;
        const w = this.waiter;
        this.waiter = null;
        w?.();
      });
      await c.connect();
      await c.query(`listen ${REALTIME_CHANNEL}`);
      if (this.closed) drop();
      else this.client = c;
    } catch {
      // PostgreSQL is down or refusing: the pass itself will say so; until then the poll serves.
      this.retryAt = Date.now() + RECONNECT_MS;
      drop();
    }
  }
}
