/**
 * The chaos run of all pipelines (issue 13; test/support/chaos-pipelines.ts says what it does and
 * checks): a generated dataset through catalog, orders, files, the events stream, the realtime loop
 * and the transform twice, clean and under faults, compared checksum by checksum.
 *   npx tsx bench/chaos-pipelines.ts --days 3 --scale 1 --faults worker*20,postgres,kafka,s3,s3-stall,temporal,transform,kafka-dup --seed 1
 * `npm run chaos:pipelines` runs that. --faults: kinds (worker, postgres, kafka, s3, s3-stall,
 * temporal, transform, kafka-dup), each optionally *N; --orders-fault-rate (default 0.2);
 * --postgres-down-seconds how long PostgreSQL stays down (default 0). It kills the
 * project's own local services: do not run it beside the tests or another bench. Prints one line per
 * fault, a table by kind, and the result per table; exits 1 when the runs differ.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { PIPELINE_FAULT_KINDS, runPipelinesChaos } from '../test/support/chaos-pipelines';
import { parseFaults } from './chaos';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    days: { type: 'string', default: '3' },
    scale: { type: 'string', default: '1' },
    faults: { type: 'string', default: 'worker*20,postgres,kafka,s3,s3-stall,temporal,transform,kafka-dup' },
    seed: { type: 'string', default: '1' },
    'orders-fault-rate': { type: 'string', default: '0.2' },
    'stall-seconds': { type: 'string', default: '30' },
    'temporal-down-seconds': { type: 'string', default: '20' },
    'postgres-down-seconds': { type: 'string', default: '0' },
  } });
  const report = await runPipelinesChaos(loadConfig(), {
    days: Number(values.days), scale: Number(values.scale), faults: parseFaults(values.faults, PIPELINE_FAULT_KINDS), seed: Number(values.seed),
    ordersFaultRate: Number(values['orders-fault-rate']), stallSeconds: Number(values['stall-seconds']),
    temporalDownSeconds: Number(values['temporal-down-seconds']), postgresDownSeconds: Number(values['postgres-down-seconds']),
  });
  const byKind = new Map<string, { n: number; down: number[]; recovery: number[]; idle: number }>();
  for (const f of report.chaos.faults) {
    const k = byKind.get(f.kind) ?? { n: 0, down: [], recovery: [], idle: 0 };
    k.n++;
    k.down.push(f.downSeconds);
    if (f.recoverySeconds === null) k.idle++;
    else k.recovery.push(f.recoverySeconds);
    byKind.set(f.kind, k);
  }
  const fmt = (xs: number[]) => (xs.length ? `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}` : '-');
  console.log('\n| fault | count | down (s) | recovery (s): until the next load committed | work ended first |\n| --- | --- | --- | --- | --- |');
  for (const [kind, k] of byKind) console.log(`| ${kind} | ${k.n} | ${fmt(k.down)} | ${fmt(k.recovery)} | ${k.idle} |`);
  if (report.chaos.faultsNotLanded.length) console.log(`\nnot landed (the work ended first): ${report.chaos.faultsNotLanded.join(', ')}`);
  console.log(`\norders API faults in the chaos run: ${JSON.stringify(report.chaos.ordersApiFaults)}`);
  console.log(`\nKafka ranges produced again: ${JSON.stringify(report.chaos.reproduced)}; events loads, clean ${JSON.stringify(report.clean.eventsLoads)}, chaos ${JSON.stringify(report.chaos.eventsLoads)}`);
  console.log(`\ndataset: ${JSON.stringify(report.dataset)}; clean run ${report.clean.seconds.toFixed(1)} s (${report.clean.loads} loads), chaos run ${report.chaos.seconds.toFixed(1)} s (${report.chaos.loads} loads)`);
  console.log('\n| table | clean | chaos |\n| --- | --- | --- |');
  for (const k of Object.keys(report.clean.checksums)) console.log(`| ${k} | ${report.clean.checksums[k]} | ${report.chaos.checksums[k] === report.clean.checksums[k] ? 'same' : (report.chaos.checksums[k] ?? 'absent')} |`);
  console.log(`\n${JSON.stringify({ ok: report.ok, problems: report.problems, workerLog: report.workerLog })}`);
  console.log(report.ok ? `identical after ${report.chaos.faults.length} faults: ${Object.keys(report.clean.checksums).length} checksums equal` : 'DIFFERENT: see the problems above');
  if (!report.ok) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
