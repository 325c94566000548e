/**
 * One-line worker logs for people watching a terminal: level, message, the workflow or activity it
 * concerns and the error's message, without the SDK's multi-line metadata dumps. The stack follows
 * only where a person needs it: ERROR entries and failed workflow tasks (a non-determinism error,
 * a bug in workflow code), which otherwise retry silently.
 */
import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';

let installed = false;

function describeError(e: unknown): string {
  if (!(e instanceof Error)) return '';
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error ? `${e.message}: ${cause.message}` : e.message;
}

/** Where a person needs the stack: errors, and any failure of a workflow task (non-determinism, a bug in workflow code). */
const WANTS_STACK = /workflow task|nondetermin|determinism/i;

export function conciseLine(entry: LogEntry): string {
  const meta = (entry.meta ?? {}) as Record<string, unknown>;
  const where = [meta.workflowId, meta.activityType].filter((v) => typeof v === 'string').join(' ');
  const e = meta.error ?? meta.failure;
  const err = typeof e === 'string' ? e : describeError(e);
  const line = `[${entry.level}] ${entry.message}${where ? ` (${where})` : ''}${err ? `: ${err}` : ''}`;
  const wantsStack = entry.level === 'ERROR' || WANTS_STACK.test(`${entry.message} ${err}`);
  const stack = e instanceof Error && e.stack ? e.stack.split('\n').slice(1).join('\n') : '';
  return wantsStack && stack ? `${line}\n${stack}` : line;
}

/** Installs the concise logger once per process; must run before any worker or connection. */
export function installConciseLogging(level: LogLevel = 'WARN'): void {
  if (installed) return;
  installed = true;
  Runtime.install({ logger: new DefaultLogger(level, (entry) => {
    // The stream and heavy queues' workers run activities only, by design (workers/worker.ts).
    if (/^No workflows registered/.test(entry.message)) return;
    console.error(conciseLine(entry));
  }) });
}

/** A message framed in a box of `!`, so a warning stands out among the worker's one-line logs. */
export function boxed(message: string): string {
  const lines = message.split('\n');
  const width = Math.max(...lines.map((l) => l.length));
  const rule = '!'.repeat(width + 4);
  return [rule, ...lines.map((l) => `! ${l.padEnd(width)} !`), rule].join('\n');
}
