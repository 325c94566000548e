import { describe, expect, it } from 'vitest';
import { mergeStatements } from '../../activities/transform/extract';
import { TRANSFORM_SPECS } from '../../activities/transform/sources';

describe('transform source specs', () => {
  for (const [source, spec] of Object.entries(TRANSFORM_SPECS)) {
    it(`${source}: the merge keeps in _changed every column its dates read, named on _in's alias`, () => {
      const dates = (spec as { dates?: string }).dates;
      const from = (spec as { datesFrom?: string[] }).datesFrom;
      const { changed } = mergeStatements(spec);
      if (!dates) {
        // Without dates nothing reads _changed; it keeps the whole row.
        expect(from).toBeUndefined();
        expect(changed).toContain(`select ${spec.columns.join(', ')} from`);
        return;
      }
      // Every read of _in goes through the alias c, so each column it takes is named c.<column>,
      // and no column of the source appears bare (it would bind to an outer query's column).
      expect(dates.match(/\b_in\b(?! c\b)/g) ?? []).toEqual([]);
      expect(dates.match(new RegExp(`(?<![.\\w])(${spec.columns.join('|')})\\b`, 'g')) ?? []).toEqual([]);
      const read = [...new Set([...dates.matchAll(/\bc\.(\w+)/g)].map((m) => m[1]))].sort();
      expect(read.length).toBeGreaterThan(0);
      expect(from?.slice().sort()).toEqual(read);
      expect(changed).toContain(`select ${from!.join(', ')} from ${spec.table}`);
    });

    it(`${source}: the merge orders its rows by the key first, then by every other column`, () => {
      const { merge } = mergeStatements(spec);
      if ((spec as { upsert?: unknown }).upsert) {
        expect(merge).toContain(`distinct on (${spec.key.join(', ')})`);
        return;
      }
      const order = /order by ([\d, ]+) on conflict/.exec(merge)?.[1]?.split(', ').map(Number);
      // A partitioned table's date column (work.events' event_date) is filled by the merge, after the others.
      const part = (spec as { partition?: { column: string } }).partition;
      const names: string[] = [...spec.columns, ...(part ? [part.column] : [])];
      const key = spec.key.map((k) => names.indexOf(k) + 1);
      expect(key.every((p) => p > 0)).toBe(true);
      expect(order?.slice(0, key.length)).toEqual(key);
      expect(order?.slice().sort((a, b) => a - b)).toEqual(names.map((_c, i) => i + 1));
    });
  }

  it('events: a new date\'s partition is filled in the key\'s order, one row per key, with nothing to conflict with', () => {
    const spec = TRANSFORM_SPECS.events;
    const { merge } = mergeStatements(spec, { table: 'work.events_20240501', where: `(ts at time zone 'UTC')::date = '2024-05-01'::date`, fresh: true });
    expect(merge).toContain(`insert into work.events_20240501 (${[...spec.columns, 'event_date'].join(', ')})`);
    expect(merge).toContain(`select distinct on ((ts at time zone 'UTC')::date, event_id) `);
    expect(/order by ([\d, ]+) returning/.exec(merge)?.[1]).toBe('9, 1, 2, 3, 4, 5, 6, 7, 8');
    expect(merge).not.toContain('on conflict');
    // From the cleaned copy of a window of many dates: its columns as they are, no rule again.
    const copied = mergeStatements(spec, { table: 'work.events_20240501', from: '_fresh', where: `event_date = '2024-05-01'::date`, fresh: true }).merge;
    expect(copied).toContain(`select distinct on (event_date, event_id) ${[...spec.columns, 'event_date'].join(', ')} from _fresh where (event_date = '2024-05-01'::date) order by 9, 1,`);
  });
});
