/**
 * A log line written outside the Temporal SDK's logger (a worker's start-up lines and warnings, the
 * Python ML worker's output, kafkajs's): as is, or with `json` one JSON object like the SDK's
 * entries (workers/logging.ts jsonLine), `extra` fields added (`component: 'ml'`), the message scrubbed.
 */
export type LineLevel = 'INFO' | 'WARN' | 'ERROR';

export function workerLine(json: boolean, level: LineLevel, msg: string, scrub: (text: string) => string, extra: Record<string, string> = {}): string {
  return json ? JSON.stringify({ ts: new Date().toISOString(), level, msg: scrub(msg), ...extra }) : scrub(msg);
}
