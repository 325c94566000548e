/**
 * Cancellation reaches the I/O an activity is waiting on, not only its next heartbeat: the worker
 * wraps its pools and its S3 client (workers/deps.ts) so that, inside an activity,
 * - a PostgreSQL statement in flight when the attempt is cancelled (the workflow asked, the worker is
 *   shutting down, the server timed the attempt out) is cancelled on the server (pg_cancel_backend
 *   on the backend of the connection the activity holds), and fails with SQLSTATE 57014;
 * - an S3 request in flight is aborted (the SDK's abortSignal).
 * Only work in flight at that moment is interrupted: a statement or request started after the
 * cancellation (a rollback, a failure record, a clean-up) runs normally. Outside an activity (the
 * CLI, a bench) nothing changes.
 *
 * Limit: the cancel goes to the connection's backend, so in the rare race where the statement ends
 * just as the cancellation arrives, the next statement the activity sends on that connection may be
 * the one cancelled (Postgres ignores a cancel that arrives between statements). A connection
 * released after a cancellation is closed, not pooled, so the cancel never reaches another activity.
 */
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { cancellationError } from '../activities/common/heartbeat';
import type { S3Client } from '@aws-sdk/client-s3';
import { Client, type Pool, type PoolClient } from 'pg';

/** The running activity's cancellation signal, if called inside one and not yet cancelled. */
function liveActivitySignal(): AbortSignal | undefined {
  let signal: AbortSignal;
  try {
    signal = Context.current().cancellationSignal;
  } catch {
    return undefined; // Not in an activity.
  }
  return signal.aborted ? undefined : signal;
}

/** Asks the server to cancel the statement running on backend `pid`, over a connection of its own. */
async function cancelBackend(pool: Pool, pid: number): Promise<void> {
  const client = new Client(pool.options);
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select pg_cancel_backend($1)', [pid]);
  } catch (err) {
    console.warn(`could not cancel the statement of PostgreSQL backend ${pid} after the activity was cancelled: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

type Connect = (cb?: (err: Error | undefined, client?: PoolClient, done?: (release?: unknown) => void) => void) => Promise<PoolClient> | void;

/** Watches the activity's signal while `client` is checked out; released clients stop listening. */
function watch(pool: Pool, client: PoolClient, signal: AbortSignal): void {
  const pid = (client as PoolClient & { processID?: number }).processID;
  if (pid === undefined) return;
  const onAbort = () => void cancelBackend(pool, pid);
  signal.addEventListener('abort', onAbort, { once: true });
  const release = client.release.bind(client);
  const wrapped = ((err?: Error | boolean) => {
    signal.removeEventListener('abort', onAbort);
    if (client.release === wrapped) client.release = release;
    // After a cancellation the cancel request may still be on its way to this backend: close the
    // connection rather than hand it to another activity whose statement it could hit.
    return release(signal.aborted ? true : err);
  }) as PoolClient['release'];
  client.release = wrapped;
}

/** Makes statements of `pool` run inside an activity cancellable by the activity's cancellation. */
export function cancellablePool(pool: Pool): Pool {
  const connect = pool.connect.bind(pool) as Connect;
  (pool as unknown as { connect: Connect }).connect = (cb) => {
    const signal = liveActivitySignal();
    if (!signal) return connect(cb);
    if (cb) {
      return connect((err, client, done) => {
        if (!client || err) return cb(err, client, done);
        watch(pool, client, signal);
        const release = client.release; // this checkout's, not whatever client.release is later
        cb(err, client, (r?: unknown) => release(r as Error | boolean));
      });
    }
    return (connect() as Promise<PoolClient>).then((client) => {
      watch(pool, client, signal);
      return client;
    });
  };
  return pool;
}

type Send = (command: unknown, options?: unknown, cb?: unknown) => Promise<unknown> | void;

/** Aborts S3 requests in flight when the activity that sent them is cancelled. */
export function cancellableS3(s3: S3Client): S3Client {
  const target = s3 as unknown as { send: Send };
  const send = target.send.bind(s3) as Send;
  target.send = (command, options, cb) => {
    const signal = liveActivitySignal();
    if (!signal || typeof options === 'function' || (options as { abortSignal?: unknown } | undefined)?.abortSignal) return send(command, options, cb);
    return send(command, { ...(options as object | undefined), abortSignal: signal }, cb);
  };
  return s3;
}

/**
 * An activity interceptor: an attempt that ends with an error after it was cancelled (the statement
 * cancelled above answers 57014, an aborted S3 request an AbortError) reports the cancellation
 * itself, as heartbeat() does, so Temporal records a cancelled attempt (or, on worker shutdown, a
 * failed one it retries at once), not an error of the activity's own.
 */
export const reportCancellation: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      try {
        return await next(input);
      } catch (err) {
        const signal = ctx.cancellationSignal;
        if (!signal.aborted || err instanceof CancelledFailure) throw err;
        throw cancellationError(signal, err);
      }
    },
  },
});
