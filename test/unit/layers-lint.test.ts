/**
 * The layer rules of eslint.config.mjs bite: a planted import of the simulator from pipeline code,
 * of the project from the contract, and of a Node built-in from a workflow are each an error.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();
const lint = async (filePath: string, code: string) => (await eslint.lintText(code, { filePath }))[0]?.messages.map((m) => `${m.ruleId}: ${m.message}`) ?? [];

describe('layer rules', () => {
  it('pipeline code may not import shop/', async () => {
    expect(await lint('activities/common/loads.ts', "import { generateDataset } from '../../shop/generator';\nexport const g = generateDataset;\n"))
      .toEqual([expect.stringMatching(/no-restricted-imports: .*never imports the simulator/)]);
    expect(await lint('workflows/orders.ts', "export { openDataset } from '../shop/dataset/read-sources';\n"))
      .toEqual([expect.stringMatching(/never imports the simulator/)]);
  });

  it('contract/ imports nothing of the project', async () => {
    expect(await lint('contract/rules.ts', "import { lakeKey } from '../lib/lake';\nexport const k = lakeKey;\n"))
      .toEqual([expect.stringMatching(/imports nothing of the project/)]);
  });

  it('workflows import no Node built-in, but may import activities as types', async () => {
    expect(await lint('workflows/orders.ts', "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n")).toEqual(expect.arrayContaining([expect.stringMatching(/deterministic/)]));
    expect(await lint('workflows/orders.ts', "import type { EventsActivities } from '../activities/events';\nexport type E = EventsActivities;\n")).toEqual([]);
  });
});
