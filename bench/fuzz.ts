/**
 * The fuzz suite, long: seeded bad records of all four sources through the real pipelines (orders
 * API, shop database, Kafka, file drops) against the running services; prints counts by source and
 * reason, every violation, the peak RSS of this process (which runs the activities) and the time.
 *   npx tsx bench/fuzz.ts --records 15000 --seed 1
 * Exits 1 on any violation or when the peak RSS passes --max-rss-mib. docs/fuzz.md has the figures.
 */
import { parseArgs } from 'node:util';
import { KNOWN_GAPS } from '../test/support/fuzz-known';
import { loadConfig } from '../config';
import { buildDeps } from '../workers/deps';
import { runFuzz, SHARES, violations, type FuzzSource } from '../test/support/fuzz-suite';

const MIB = 2 ** 20;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      records: { type: 'string', default: '15000' }, seed: { type: 'string', default: '1' }, tag: { type: 'string' },
      sources: { type: 'string', default: Object.keys(SHARES).join(',') }, 'page-size': { type: 'string', default: '100' }, 'chain-pages': { type: 'string', default: '5' }, 'per-file': { type: 'string' }, 'catalog-wide': { type: 'string', default: '0' },
      'max-rss-mib': { type: 'string', default: '1024' }, 'skip-known': { type: 'boolean', default: false }, keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const config = loadConfig();
  const env = { config, deps: buildDeps(config) };
  const { report, cleanUp } = await runFuzz(env, {
    seed: Number(values.seed), records: Number(values.records), tag: values.tag, pageSize: Number(values['page-size']), chainPages: Number(values['chain-pages']), perFile: values['per-file'] ? Number(values['per-file']) : undefined, catalogWideRows: Number(values['catalog-wide']), realCap: true, deadlineMs: 600_000,
    sources: values.sources.split(',') as FuzzSource[], exclude: values['skip-known'] ? KNOWN_GAPS : undefined,
  });
  try {
    const all = violations(report);
    if (values.json) console.log(JSON.stringify(report, null, 1));
    else print(report, all);
    const bound = Number(values['max-rss-mib']) * MIB;
    console.log(`\npeak RSS ${(report.peakRssBytes / MIB).toFixed(0)} MiB sampled (maxRSS ${(report.maxRssBytes / MIB).toFixed(0)} MiB), bound ${bound / MIB} MiB: ${report.peakRssBytes <= bound ? 'within' : 'EXCEEDED'}`);
    console.log(`${all.length} violations; ${report.seconds} s in all; seed ${report.seed}, tag ${report.tag} (--tag ${report.tag} reproduces the bytes)`);
    process.exitCode = all.length > 0 || report.peakRssBytes > bound ? 1 : 0;
  } finally {
    if (!values.keep) await cleanUp();
    await env.deps.close();
  }
}

function print(report: Awaited<ReturnType<typeof runFuzz>>['report'], all: string[]): void {
  console.log(`fuzz: seed ${report.seed}, tag ${report.tag}, era ${report.era}, ${report.records} bad records asked for`);
  console.log('\nsource   bad sent  bad     valid   received loaded  quarantined duplicates loads failed seconds');
  for (const s of report.sources) {
    const c = [s.badSent, s.bad, s.valid, s.totals.received, s.totals.loaded, s.totals.quarantined, s.totals.duplicates, s.loads, s.failedLoads, s.seconds];
    console.log(`${s.source.padEnd(8)} ${c.map((x, i) => String(x).padEnd(i === 0 ? 9 : i === 5 ? 11 : i > 6 ? 6 : 8)).join(' ')}`);
  }
  const total = (k: 'badSent' | 'bad' | 'valid') => report.sources.reduce((a, s) => a + s[k], 0);
  console.log(`all      ${total('badSent')} bad sent, ${total('bad')} of them in loads that succeeded, ${total('valid')} valid`);
  for (const s of report.sources) {
    console.log(`\n${s.source}: bad records by family (quarantined / loaded / duplicate)`);
    for (const [f, n] of Object.entries(s.byFamily).sort()) console.log(`  ${f.padEnd(16)} ${n.bad} bad: ${n.quarantined} / ${n.loaded} / ${n.duplicate}`);
    console.log(`${s.source}: quarantine reasons`);
    for (const [r, n] of Object.entries(s.reasons).sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(6)}  ${r}`);
    console.log(`${s.source}: runs`);
    for (const sc of s.scenarios) console.log(`  ${sc.ok ? 'ok  ' : 'FAIL'} ${String(sc.seconds).padStart(7)} s  ${sc.name}: ${sc.outcome.slice(-160)}`);
  }
  if (all.length) console.log(`\nviolations (first 400 of ${all.length}):\n${all.slice(0, 400).map((v) => `  ${v.slice(0, 400)}`).join('\n')}`);
}

void main();
