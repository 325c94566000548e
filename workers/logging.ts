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

/** The pipeline a workflow id belongs to: its first segment (`orders/2026-…`, `scheduled/transform…`, `churn/…`). */
export function pipelineOf(workflowId: unknown): string | undefined {
  if (typeof workflowId !== 'string') return undefined;
  const [first, second] = workflowId.split('/');
  // A schedule's runs: `scheduled/<name>-<scheduled time>`.
  if (first === 'scheduled' && second) return second.replace(/-\d{4}-\d\d-\d\dT.*$/, '');
  return first || undefined;
}

/**
 * One JSON object per log entry (`ETL_LOG_FORMAT=json`), for a log shipper: time, level, message,
 * and the workflow id, run id, workflow type, activity, attempt, task queue and pipeline whenever
 * the entry concerns one. `scrub` removes secrets from the message and the error (config's
 * scrubSecrets); the SDK's task token is left out.
 */
export function jsonLine(entry: LogEntry, scrub: (text: string) => string = (t) => t): string {
  const meta = (entry.meta ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const e = meta.error ?? meta.failure;
  const error = typeof e === 'string' ? e : describeError(e);
  const workflowId = str(meta.workflowId);
  const line: Record<string, unknown> = {
    ts: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
    level: entry.level,
    msg: scrub(entry.message),
    workflowId,
    runId: str(meta.runId) ?? str(meta.workflowRunId),
    workflowType: str(meta.workflowType),
    activity: str(meta.activityType),
    activityId: str(meta.activityId),
    attempt: typeof meta.attempt === 'number' ? meta.attempt : undefined,
    taskQueue: str(meta.taskQueue),
    state: str(meta.state),
    pipeline: pipelineOf(workflowId),
    error: error ? scrub(error) : undefined,
  };
  return JSON.stringify(Object.fromEntries(Object.entries(line).filter(([, v]) => v !== undefined)));
}

export { workerLine } from '../lib/log-line';

/** The level of a line of Python's logging or a traceback (WARN, ERROR, else INFO). */
export function pythonLevel(line: string): 'INFO' | 'WARN' | 'ERROR' {
  if (/\b(ERROR|CRITICAL)\b|Traceback|Error:/.test(line)) return 'ERROR';
  if (/\bWARN(ING)?\b/.test(line)) return 'WARN';
  return 'INFO';
}

/** A message framed in a box of `!`, so a warning stands out among the worker's one-line logs. */
export function boxed(message: string): string {
  const lines = message.split('\n');
  const width = Math.max(...lines.map((l) => l.length));
  const rule = '!'.repeat(width + 4);
  return [rule, ...lines.map((l) => `! ${l.padEnd(width)} !`), rule].join('\n');
}
