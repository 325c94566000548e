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
  private retryAt = 0;
  private notified = false;
  private waiter: (() => void) | null = null;

  constructor(private readonly pool: Pool) {}

  /** Forget earlier notifications: call before a pass reads the marks, so that a load committing during the pass wakes the wait after it. */
  arm(): void {
    this.notified = false;
  }

  /** Resolves at the first notification since arm() (at once if one came already). Never rejects; race it with a timer. */
  async next(): Promise<void> {
    await this.listen();
    if (this.notified || !this.client) {
      // Without a listener there is nothing to wait for but the caller's timer.
      if (this.notified) return;
      return new Promise<void>(() => undefined);
    }
    return new Promise<void>((resolve) => {
      this.waiter = resolve;
    });
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    this.waiter = null;
    await c?.end().catch(() => undefined);
  }

  private async listen(): Promise<void> {
    if (this.client || Date.now() < this.retryAt) return;
    const c = new Client({ ...this.pool.options, application_name: 'shop-etl:realtime-wake' });
    const drop = () => {
      if (this.client === c) this.client = null;
      c.end().catch(() => undefined);
    };
    c.on('error', drop);
    c.on('end', drop);
    c.on('notification', () => {
      this.notified = true;
      const w = this.waiter;
      this.waiter = null;
      w?.();
    });
    try {
      await c.connect();
      await c.query(`listen ${REALTIME_CHANNEL}`);
      this.client = c;
    } catch {
      // PostgreSQL is down or refusing: the pass itself will say so; until then the poll serves.
      this.retryAt = Date.now() + RECONNECT_MS;
      drop();
    }
  }
}
