import { describe, expect, it } from 'vitest';
import { devPseudonymKeyWarning, loadConfig } from '../../config';
import { boxed } from '../../workers/logging';

describe('the worker start-up warning', () => {
  it('frames every line of the message in a box of equal width', () => {
    const warning = devPseudonymKeyWarning(loadConfig({ TEMPORAL_ADDRESS: 'temporal.prod:7233' }));
    const lines = boxed(`WARNING\n${warning ?? ''}`).split('\n');
    expect(lines.length).toBeGreaterThan(4);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
    expect(lines[0]).toMatch(/^!+$/);
    expect(lines.at(-1)).toMatch(/^!+$/);
    for (const l of lines.slice(1, -1)) expect(l).toMatch(/^! .* !$/);
    expect(lines[1]).toContain('WARNING');
  });
});
