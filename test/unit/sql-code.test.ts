/**
 * Every function and view has one current definition, in sql/<db>/code/: none is defined in two
 * code files, and each one a versioned migration ever created is defined there too (so its live
 * definition is never "whichever migration mentioned it last").
 */
import { describe, expect, it } from 'vitest';
import { readCode, readMigrations, type Series } from '../../lib/migrate';

const DEFINES = /create\s+or\s+replace\s+(function|view)\s+([a-z_][a-z0-9_.]*)/gi;
const names = (sql: string) => [...sql.matchAll(DEFINES)].map((m) => `${(m[1] as string).toLowerCase()} ${(m[2] as string).toLowerCase().replace(/^public\./, '')}`);

describe.each<Series>(['staging', 'analytics', 'shop'])('sql/%s', (series) => {
  const code = readCode(series);
  const inCode = code.flatMap((f) => names(f.sql).map((n) => [n, f.name] as const));

  it('defines each function and view in one code file only', () => {
    const seen = new Map<string, string>();
    for (const [n, file] of inCode) {
      expect(seen.get(n), `${n} in ${file} and ${seen.get(n)}`).toBeUndefined();
      seen.set(n, file);
    }
  });

  it('has a current definition in code/ for every function and view a migration created', () => {
    const current = new Set(inCode.map(([n]) => n));
    const missing = readMigrations(series).flatMap((m) => names(m.sql).filter((n) => !current.has(n)).map((n) => `${n} (${m.name})`));
    expect(missing).toEqual([]);
  });
});
