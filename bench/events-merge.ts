/**
 * The events merge alone (issue 12 P4): --ranges ranges of --events new events each, merged into
 * staging.events one transaction at a time, alternating the shipped path (mergeEvents: look up the
 * stored ids, COPY the new events straight into the table) with the path every range took before
 * (mergeEventsOnConflict: temporary table, COPY, INSERT ... SELECT ... ON CONFLICT DO NOTHING), which
 * the shipped path now falls back to on a concurrent duplicate. Prints the median milliseconds per
 * range of each and their ratio. Its rows are deleted at the end.
 *   npx tsx bench/events-merge.ts [--events 20000] [--ranges 16]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { mergeEvents, mergeEventsOnConflict, type MergedEvent } from '../activities/events/load';
import { testEnv } from '../test/support/env';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { events: { type: 'string', default: '20000' }, ranges: { type: 'string', default: '16' } } });
  const n = Number(values.events);
  const env = await testEnv('bench-events-merge');
  const { staging } = env.deps;
  const tag = `bm${randomUUID().slice(0, 6)}`;
  const ms: Record<'copy' | 'onConflict', number[]> = { copy: [], onConflict: [] };
  try {
    for (let r = 0; r < Number(values.ranges); r++) {
      const events = Array.from({ length: n }, (_, i) => ({
        eventId: `${tag}-${r}-${i}-${randomUUID()}`, eventName: 'view', userId: `u${i % 5000}`, sessionId: `s${i % 3000}`, productId: `p${i % 800}`,
        orderId: null, price: null, ts: new Date(Date.now() - i * 10), partition: 0, offset: String(r * n + i),
      }) as unknown as MergedEvent);
      const path = r % 2 === 0 ? 'copy' : 'onConflict';
      const client = await staging.connect();
      try {
        const t = performance.now();
        await client.query('begin');
        const merged = path === 'copy' ? await mergeEvents(client, events, 'bench') : await mergeEventsOnConflict(client, events, 'bench');
        await client.query('commit');
        ms[path].push(performance.now() - t);
        if (merged.length !== n) throw new Error(`range ${r}: ${merged.length} of ${n} events merged`);
      } finally {
        client.release();
      }
    }
    const copy = median(ms.copy);
    const onConflict = median(ms.onConflict);
    console.log(JSON.stringify({ eventsPerRange: n, rangesEach: ms.copy.length, copyMedianMs: Math.round(copy), onConflictMedianMs: Math.round(onConflict), ratio: Number((copy / onConflict).toFixed(2)) }));
  } finally {
    await staging.query('delete from staging.events where event_id like $1', [`${tag}-%`]);
    await env.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
