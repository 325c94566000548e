/**
 * Events of the benchmarks carry event times in a private era: the wall clock moved by whole days
 * (200 years), so their minutes line up with the clock the way live traffic's do, but never mix
 * with live realtime metrics (minutes of event time are global). What a realtime loop may have made
 * of them, and the dirty marks of the bench's loads, are deleted afterwards.
 */
import type { Pool } from 'pg';
import { REALTIME_MINUTE_TABLES } from '../activities/realtime';

export const ERA_MS = 200 * 365 * 86_400_000;

/** Removes the realtime traces of one bench topic: dirty marks, the era's minutes and alerts, the topic's watermark. */
export async function cleanUpRealtimeEra(staging: Pool, analytics: Pool, topic: string): Promise<void> {
  await staging.query('delete from etl.realtime_dirty where load_id like $1', [`events/${topic}/%`]);
  // Late events reach up to 6 h back; a day either side covers them and a run that crossed midnight.
  const era = [new Date(Date.now() + ERA_MS - 86_400_000), new Date(Date.now() + ERA_MS + 86_400_000)];
  for (const t of REALTIME_MINUTE_TABLES) await analytics.query(`delete from ${t} where minute between $1 and $2`, era);
  await analytics.query('delete from realtime_visible where topic = $1', [topic]);
}

/**
 * Vacuums (and analyzes) the tables the events and realtime benches write, before a measurement.
 * Each bench deletes its rows at the end (16M-20M events for the sustained throughput run), and
 * autovacuum then works through them for minutes beside whatever runs next: a realtime run started
 * right after the 20M-event run fell behind in its first minutes (docs/realtime.md). Prints the
 * seconds it took.
 */
export async function settleBenchTables(staging: Pool, analytics: Pool): Promise<void> {
  const began = performance.now();
  await staging.query('vacuum (analyze) staging.events, etl.realtime_dirty, etl.loads, etl.kafka_offsets');
  await analytics.query(`vacuum (analyze) realtime_applied, realtime_visible, ${REALTIME_MINUTE_TABLES.join(', ')}`);
  console.log(JSON.stringify({ settled: 'vacuum (analyze) of the tables the bench writes, before measuring', seconds: +((performance.now() - began) / 1000).toFixed(1) }));
}
