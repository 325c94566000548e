/**
 * The chaos run of the events stream (issue 13; test/support/chaos.ts says what it does and checks).
 *   npx tsx bench/chaos.ts --rate 2000 --faults worker*20,postgres,kafka,s3,s3-stall,temporal --seed 1
 * `npm run chaos` runs that. --faults is a list of kinds (worker, postgres, kafka, s3, s3-stall,
 * temporal), each optionally *N; --rate is events a second sent while they land; --stall-seconds
 * sets the S3 stall (default 30), --temporal-down-seconds how long Temporal stays down (default 20),
 * --postgres-down-seconds how long PostgreSQL does (default 0),
 * --schedule-every the interval of a schedule that must catch up on what it missed (default 5). It kills the
 * project's own local services: do not run it beside the tests or another bench. Prints one line per
 * fault and a table; exits 1 when the result is not exactly once.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { FAULT_KINDS, runChaos, type FaultKind } from '../test/support/chaos';

/** `kind*N,kind,…` into a list of kinds, each one of `kinds`. */
export function parseFaults<K extends string>(spec: string, kinds: readonly K[] = FAULT_KINDS as unknown as readonly K[]): K[] {
  return spec.split(',').filter(Boolean).flatMap((part) => {
    const [kind, times = '1'] = part.split('*');
    if (!kinds.includes(kind as K)) throw new Error(`unknown fault ${kind}; one of ${kinds.join(', ')}`);
    const n = Number(times);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${part}: the count after * must be a positive integer`);
    return Array.from({ length: n }, () => kind as K);
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    rate: { type: 'string', default: '2000' },
    faults: { type: 'string', default: 'worker*20,postgres,kafka,s3,s3-stall,temporal' },
    seed: { type: 'string', default: '1' },
    'stall-seconds': { type: 'string', default: '30' },
    'temporal-down-seconds': { type: 'string', default: '20' },
    'postgres-down-seconds': { type: 'string', default: '0' },
    'schedule-every': { type: 'string', default: '5' },
  } });
  const report = await runChaos(loadConfig(), { rate: Number(values.rate), faults: parseFaults<FaultKind>(values.faults), seed: Number(values.seed), stallSeconds: Number(values['stall-seconds']),
    temporalDownSeconds: Number(values['temporal-down-seconds']), postgresDownSeconds: Number(values['postgres-down-seconds']), scheduleEverySeconds: Number(values['schedule-every']) });
  const byKind = new Map<string, { n: number; down: number[]; recovery: number[]; back: number }>();
  for (const f of report.faults) {
    const k = byKind.get(f.kind) ?? { n: 0, down: [], recovery: [], back: 0 };
    k.n++;
    k.down.push(f.downSeconds);
    k.recovery.push(f.recoverySeconds);
    k.back += f.steppedBack;
    byKind.set(f.kind, k);
  }
  const fmt = (xs: number[]) => `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}`;
  console.log('\n| fault | count | down (s) | recovery (s) | offsets stepped back |\n| --- | --- | --- | --- | --- |');
  for (const [kind, k] of byKind) console.log(`| ${kind} | ${k.n} | ${fmt(k.down)} | ${fmt(k.recovery)} | ${k.back} |`);
  if (report.schedule) console.log(`\nschedule every ${report.schedule.every} s: ${JSON.stringify(report.schedule)}`);
  console.log(`\nalerts raised: ${report.alerts.length}`);
  for (const a of report.alerts) console.log(`  ${a.kind}: ${a.message}`);
  console.log(`\n${JSON.stringify({ ok: report.ok, seconds: report.seconds, events: report.events, staged: report.staged, stagedDistinct: report.stagedDistinct, loads: report.loads, problems: report.problems, workerLog: report.workerLog })}`);
  console.log(report.ok ? 'exactly once through every fault: OK' : 'VIOLATION: see the problems above');
  if (!report.ok) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
