import { existsSync } from 'node:fs';

/** Resolves a module path without extension to its .ts source (tsx, vitest) or built .js file. */
export function modulePath(base: string): string {
  for (const ext of ['.ts', '.js']) if (existsSync(base + ext)) return base + ext;
  throw new Error(`no module at ${base}.ts or ${base}.js`);
}
