/**
 * Data checks (docs/data-checks.md): one small SQL file per check in sql/checks/, run on every
 * analytics date the transform rebuilds, before the date is committed. This module is pure: it
 * reads the files' headers, applies the ETL_DATA_CHECKS overrides and turns a check's named
 * parameters into positional ones. Running them is activities/transform/checks.ts.
 *
 * A file's header:
 *   -- check: <name>                 the file name without .sql
 *   -- severity: blocking | warning  blocking keeps the date's previous version; warning publishes
 *   -- database: analytics | staging (optional, default analytics: inside the date's transaction)
 *   -- param: <name> = <number>   (what it means)
 *   -- description: <text, continued on the following `--   ` lines>
 * Its query returns one row: ok (boolean; null = not judged, e.g. too little data), observed and
 * expected (numbers) and detail (text naming the numbers). `$date` is the date being rebuilt and
 * `$<param>` a parameter.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SQL_DIR } from './migrate';

export type Severity = 'blocking' | 'warning';
export interface DataCheck {
  name: string;
  severity: Severity;
  database: 'analytics' | 'staging';
  description: string;
  params: Record<string, number>;
  sql: string;
}

export const CHECKS_DIR = join(SQL_DIR, 'checks');

export class DataCheckConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataCheckConfigError';
  }
}

/** Parses one check file; `file` names it in errors. */
export function parseCheck(file: string, text: string): DataCheck {
  const header: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('--')) break;
    header.push(line.replace(/^--\s?/, ''));
  }
  const fields = new Map<string, string>();
  const params: Record<string, number> = {};
  let description: string[] | undefined;
  for (const line of header) {
    const m = /^([a-z_]+):\s*(.*)$/.exec(line);
    if (m && !line.startsWith(' ')) {
      description = undefined;
      const [, key, value] = m as unknown as [string, string, string];
      if (key === 'param') {
        const p = /^([a-z_][a-z0-9_]*)\s*=\s*(-?\d+(?:\.\d+)?)\b/.exec(value);
        if (!p) throw new DataCheckConfigError(`${file}: a param line must read "param: name = number", got "${value}"`);
        params[p[1] as string] = Number(p[2]);
      } else if (key === 'description') {
        description = [value];
        fields.set('description', '');
      } else fields.set(key, value.trim());
    } else if (description && line.trim()) {
      description.push(line.trim());
    }
    if (description) fields.set('description', description.join(' '));
  }
  const name = fields.get('check');
  const expectedName = file.replace(/\.sql$/, '');
  if (name !== expectedName) throw new DataCheckConfigError(`${file}: its "-- check:" line must name it ${expectedName}, got ${name ?? 'none'}`);
  const severity = fields.get('severity');
  if (severity !== 'blocking' && severity !== 'warning') throw new DataCheckConfigError(`${file}: severity must be blocking or warning, got ${severity ?? 'none'}`);
  const database = fields.get('database') ?? 'analytics';
  if (database !== 'analytics' && database !== 'staging') throw new DataCheckConfigError(`${file}: database must be analytics or staging, got ${database}`);
  const description_ = fields.get('description');
  if (!description_) throw new DataCheckConfigError(`${file}: it has no "-- description:"`);
  const sql = text.split('\n').slice(header.length).join('\n').trim();
  const used = new Set([...sql.matchAll(/\$([a-z_][a-z0-9_]*)/g)].map((m) => m[1] as string));
  for (const u of used) if (u !== 'date' && !(u in params)) throw new DataCheckConfigError(`${file}: its query uses $${u}, which is neither $date nor a param`);
  for (const p of Object.keys(params)) if (!used.has(p)) throw new DataCheckConfigError(`${file}: param ${p} is declared but its query never uses $${p}`);
  return { name, severity, database, description: description_, params, sql };
}

/**
 * Checks whose severity cannot be changed: facts_have_dimensions stands in for the fact tables'
 * foreign keys (dropped for load speed, sql/analytics/070 and 072), so lowering it would let an
 * orphan event or order line publish.
 */
export const ALWAYS_BLOCKING: ReadonlySet<string> = new Set(['facts_have_dimensions']);

/**
 * `ETL_DATA_CHECKS`: comma-separated `<check>.<param>=<number>` and `<check>.severity=blocking|warning|off`.
 * Returns the checks that stay on, with their overrides applied; an unknown check or param is an error.
 */
export function applyOverrides(checks: DataCheck[], spec: string): DataCheck[] {
  const byName = new Map(checks.map((c) => [c.name, { ...c, params: { ...c.params } }]));
  const off = new Set<string>();
  for (const item of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)\s*=\s*(\S+)$/.exec(item);
    if (!m) throw new DataCheckConfigError(`ETL_DATA_CHECKS: "${item}" must read check.param=number or check.severity=blocking|warning|off`);
    const [, name, key, value] = m as unknown as [string, string, string, string];
    const check = byName.get(name);
    if (!check) throw new DataCheckConfigError(`ETL_DATA_CHECKS: no check named ${name} (checks: ${[...byName.keys()].join(', ')})`);
    if (key === 'severity') {
      if (ALWAYS_BLOCKING.has(name) && value !== 'blocking') {
        throw new DataCheckConfigError(`ETL_DATA_CHECKS: ${name} stays blocking (it stands in for the fact tables' foreign keys); its severity cannot be ${value}`);
      }
      if (value === 'off') off.add(name);
      else if (value === 'blocking' || value === 'warning') check.severity = value;
      else throw new DataCheckConfigError(`ETL_DATA_CHECKS: ${name}.severity must be blocking, warning or off, got ${value}`);
    } else {
      if (!(key in check.params)) throw new DataCheckConfigError(`ETL_DATA_CHECKS: ${name} has no param ${key} (params: ${Object.keys(check.params).join(', ') || 'none'})`);
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new DataCheckConfigError(`ETL_DATA_CHECKS: ${name}.${key} must be a number of 0 or more, got ${value}`);
      check.params[key] = n;
    }
  }
  return [...byName.values()].filter((c) => !off.has(c.name));
}

/** The checks of sql/checks (or `dir`), in name order, with `overrides` (ETL_DATA_CHECKS) applied. */
export function loadDataChecks(overrides = '', dir = CHECKS_DIR): DataCheck[] {
  const files = readdirSync(dir).filter((f) => /^[a-z_][a-z0-9_]*\.sql$/.test(f)).sort();
  return applyOverrides(files.map((f) => parseCheck(f, readFileSync(join(dir, f), 'utf8'))), overrides);
}

/**
 * The check's query with `$date` and `$<param>` made positional (`$1::date`, then each param used, as
 * numeric): only what the query uses is bound, since PostgreSQL refuses a parameter it cannot type.
 * Every `$<name>` is a parameter, even inside a string literal; dollar quoting is not available.
 */
export function boundQuery(check: DataCheck, date: string): { text: string; values: Array<string | number> } {
  const used: string[] = [];
  const text = check.sql.replace(/\$([a-z_][a-z0-9_]*)/g, (_, n: string) => {
    if (!used.includes(n)) used.push(n);
    return `$${used.indexOf(n) + 1}::${n === 'date' ? 'date' : 'numeric'}`;
  });
  return { text, values: used.map((n) => (n === 'date' ? date : (check.params[n] as number))) };
}
