/**
 * Error classification, in one place. Permanent errors (bad data, constraint violations, zod
 * failures, 4xx answers) become non-retryable ApplicationFailures with a type; transient ones
 * (connection loss, serialization failures, 5xx, timeouts) are rethrown for Temporal to retry.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ZodError } from 'zod';

/** A record or file that cannot be processed as it is; retrying will not help. */
export class BadDataError extends Error {
  constructor(message: string, public readonly ref?: string) {
    super(message);
    this.name = 'BadDataError';
  }
}

/** An HTTP answer from an upstream API. */
export class HttpError extends Error {
  constructor(message: string, public readonly status: number, public readonly retryAfterMs?: number) {
    super(message);
    this.name = 'HttpError';
  }
}

export type ErrorClass = { retryable: true } | { retryable: false; type: string };

// SQLSTATE classes: 22 data exception, 23 integrity constraint, 42 syntax/access rule, 28 auth.
const PERMANENT_SQLSTATE = /^(22|23|42|28)/;

export function classifyError(err: unknown): ErrorClass {
  if (err instanceof ApplicationFailure) return err.nonRetryable ? { retryable: false, type: err.type ?? 'ApplicationFailure' } : { retryable: true };
  if (err instanceof ZodError) return { retryable: false, type: 'ValidationError' };
  if (err instanceof BadDataError) return { retryable: false, type: 'BadData' };
  if (err instanceof HttpError) {
    if (err.status === 408 || err.status === 429 || err.status >= 500) return { retryable: true };
    return { retryable: false, type: `Http${err.status}` };
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && PERMANENT_SQLSTATE.test(code)) {
    return { retryable: false, type: `Postgres${code}` };
  }
  return { retryable: true };
}

/** Rethrows `err` as Temporal should see it, with `context` (what failed, on which partition) first. */
export function rethrowClassified(err: unknown, context: string): never {
  const cls = classifyError(err);
  const message = `${context}: ${err instanceof Error ? err.message : String(err)}`;
  if (!cls.retryable) throw ApplicationFailure.nonRetryable(message, cls.type);
  if (err instanceof HttpError && err.retryAfterMs !== undefined) {
    throw ApplicationFailure.create({ message, type: 'RateLimited', nextRetryDelay: err.retryAfterMs });
  }
  if (err instanceof Error) {
    err.message = message;
    throw err;
  }
  throw new Error(message);
}
