/**
 * Partition pruning for `etl lake query`: which dt partitions can a query possibly need? Parsed
 * conservatively, like Athena's partition projection but simpler: only plain AND-ed comparisons of
 * `dt` with date literals are understood; anything else (OR, NOT, subqueries on dt, several tables)
 * means "read every partition". Wrong answers are impossible by construction, only extra reads.
 */
const DATE = `(?:date\\s+)?'(\\d{4}-\\d{2}-\\d{2})'(?:::date)?`;
const COL = `(?:\\b\\w+\\.)?\\bdt\\b`;
const PATTERNS: Array<{ re: RegExp; test: (m: RegExpExecArray) => (dt: string) => boolean }> = [
  { re: new RegExp(`${COL}\\s+between\\s+${DATE}\\s+and\\s+${DATE}`, 'gi'), test: (m) => (dt) => dt >= m[1]! && dt <= m[2]! },
  { re: new RegExp(`${COL}\\s+in\\s*\\(((?:\\s*${DATE}\\s*,)*\\s*${DATE}\\s*)\\)`, 'gi'), test: (m) => {
    const set = new Set([...m[1]!.matchAll(/'(\d{4}-\d{2}-\d{2})'/g)].map((x) => x[1]!));
    return (dt) => set.has(dt);
  } },
  { re: new RegExp(`${COL}\\s*(=|>=|<=|>|<)\\s*${DATE}`, 'gi'), test: (m) => {
    const v = m[2]!;
    const op = m[1]!;
    return (dt) => (op === '=' ? dt === v : op === '>=' ? dt >= v : op === '<=' ? dt <= v : op === '>' ? dt > v : dt < v);
  } },
];

/** A predicate over partition dates, or null when the query must read every partition. */
export function dtFilter(sql: string): ((dt: string) => boolean) | null {
  const noStrings = sql.replace(/'[^']*'/g, "''");
  // One plain query over one table: no OR/NOT/set operations, subqueries, CTEs or joins.
  if (/\b(or|not|union|except|intersect|join|with)\b/i.test(noStrings)) return null;
  if ((noStrings.match(/\bselect\b/gi) ?? []).length !== 1 || /\bfrom\s+[\w.]+(\s+(as\s+)?\w+)?\s*,/i.test(noStrings)) return null;
  let rest = sql;
  const tests: Array<(dt: string) => boolean> = [];
  for (const p of PATTERNS) {
    rest = rest.replace(p.re, (...args: unknown[]) => {
      const m = args.slice(0, -2) as unknown as RegExpExecArray;
      tests.push(p.test(m));
      return ' true ';
    });
  }
  // Any other comparison of dt (with a column, an expression, LIKE...) leaves us unsure.
  const residual = rest.replace(/'[^']*'/g, "''");
  if (new RegExp(`${COL}\\s*(=|<|>|!|between\\b|in\\b|like\\b|ilike\\b|is\\b|similar\\b|glob\\b)`, 'i').test(residual)) return null;
  if (/(=|<|>|\bin|\bbetween|\band)\s*\(?\s*(\w+\.)?dt\b/i.test(residual)) return null;
  if (tests.length === 0) return null;
  return (dt) => tests.every((t) => t(dt));
}

/** Curated tables a query names (as identifiers), from the tables the lake has. */
export function referencedTables(sql: string, tables: string[]): string[] {
  const noStrings = sql.replace(/'[^']*'/g, "''").toLowerCase();
  return tables.filter((t) => new RegExp(`\\b${t}\\b`).test(noStrings));
}
