import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../config';
import { isServiceName, SERVICE_NAMES, serviceLogPath, servicesDown, servicesStatus, servicesUp, ServicesUpError } from '../../services';
import { tailFile } from '../../services/process';
import { printData } from '../output';

const list = SERVICE_NAMES.join(', ');
const fmtAddresses = (a: Record<string, string>) => Object.entries(a).map(([k, v]) => `${k}=${v}`).join(' ');

export function register(program: Command): void {
  const services = program
    .command('services')
    .description(`Run the local stack without Docker: ${list}. State and logs live in ETL_HOME/<service>/.`);

  services
    .command('up')
    .description(`Install (cached) and start services detached, wait until healthy, create databases, roles, topic and bucket. Default: all of ${list}.`)
    .argument('[service...]', `any of ${list}`)
    .option('--timeout <seconds>', 'health wait per service after its process starts', '90')
    .action(async (names: string[], opts: { timeout: string }) => {
      const config = loadConfig();
      const log = (service: string, line: string) => console.log(`${service.padEnd(8)} ${line}`);
      try {
        const results = await servicesUp(config, names, { timeoutMs: Number(opts.timeout) * 1000, log });
        for (const r of results) {
          const what = r.outcome === 'started' ? `started in ${r.seconds.toFixed(1)} s` : `already running, healthy (checked in ${r.seconds.toFixed(1)} s)`;
          log(r.name, `${what}, pid ${r.pid}  ${fmtAddresses(r.addresses)}`);
          for (const note of r.notes) log(r.name, note);
        }
      } catch (err) {
        if (!(err instanceof ServicesUpError)) throw err;
        for (const r of err.results) log(r.name, `healthy (${r.outcome}) in ${r.seconds.toFixed(1)} s`);
        for (const f of err.failures) {
          console.error(`\n${f.message}`);
          if (f.logTail) console.error(`--- last lines of ${serviceLogPath(config, f.service)} ---\n${f.logTail}\n---`);
        }
        process.exitCode = 1;
      }
    });

  services
    .command('down')
    .description('Stop services this project started (found by pid files, checked against /proc/<pid>/cmdline). Default: all.')
    .argument('[service...]', `any of ${list}`)
    .action(async (names: string[]) => {
      for (const r of await servicesDown(loadConfig(), names)) {
        console.log(`${r.name.padEnd(8)} ${r.outcome}${r.pids.length ? ` (pid ${r.pids.join(', ')}) in ${r.seconds.toFixed(1)} s` : ''}`);
      }
    });

  services
    .command('status')
    .description('Show each service, its addresses, pid and health. Exits 1 if any is unhealthy.')
    .argument('[service...]', `any of ${list}`)
    .option('--json', 'print JSON')
    .action(async (names: string[], opts: { json?: boolean }) => {
      const rows = await servicesStatus(loadConfig(), names);
      printData(rows.map((r) => ({
        service: r.name,
        healthy: opts.json ? r.healthy : r.healthy ? 'yes' : 'no',
        pid: r.pid ?? null,
        ...(opts.json ? { addresses: r.addresses, log: r.log } : { addresses: fmtAddresses(r.addresses) }),
      })), opts);
      if (rows.some((r) => !r.healthy)) process.exitCode = 1;
    });

  services
    .command('logs')
    .description('Print the end of a service log; -f keeps following it.')
    .argument('<service>', `one of ${list}`)
    .option('-n, --lines <n>', 'number of lines', '50')
    .option('-f, --follow', 'keep printing new lines until interrupted')
    .action(async (name: string, opts: { lines: string; follow?: boolean }) => {
      if (!isServiceName(name)) throw new Error(`unknown service ${name}; choose from ${list}`);
      const file = serviceLogPath(loadConfig(), name);
      if (!existsSync(file) && !opts.follow) throw new Error(`no log yet at ${file}; run \`etl services up ${name}\` first`);
      const text = tailFile(file, Number(opts.lines));
      if (text) console.log(text);
      if (opts.follow) await follow(file);
    });
}

/** Polls the file for appended bytes; a truncated or recreated file is read from its start. */
async function follow(file: string): Promise<never> {
  let offset = existsSync(file) ? statSync(file).size : 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    if (!existsSync(file)) continue;
    const size = statSync(file).size;
    if (size < offset) offset = 0;
    if (size === offset) continue;
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(size - offset);
    readSync(fd, buf, 0, buf.length, offset);
    closeSync(fd);
    process.stdout.write(buf);
    offset = size;
  }
}
