/**
 * The events batch hook of the realtime metrics: inside the staging transaction of an events load,
 * marks the minutes of event time its newly merged events fall in. The mark commits if and only if
 * the events do, so no committed event can escape the realtime loop. The mark's marked_at defaults
 * to the transaction's now(), as the events' ingested_at does: the loop finds a load's events by
 * (ingested_at, load_id) through that equality (refresh.ts). The same statement sends a NOTIFY,
 * delivered at the commit, which wakes an idle realtime loop (wake.ts).
 */
import type { EventsBatchHook } from '../events/load';
import { REALTIME_CHANNEL } from './wake';

const MINUTE_MS = 60_000;

export const markRealtimeMinutes: EventsBatchHook = async (client, batch) => {
  // Duplicates were not merged, so they mark nothing: their minute already counts them once.
  if (batch.events.length === 0) return;
  const minutes = new Set<number>();
  // Offsets are decimal strings without leading zeros: the longer, or at equal length the greater,
  // is the larger (no BigInt per event on the hot path).
  let lastOffset = '0';
  for (const e of batch.events) {
    minutes.add(Math.floor(e.ts.getTime() / MINUTE_MS) * MINUTE_MS);
    const o = e.offset;
    if (o.length > lastOffset.length || (o.length === lastOffset.length && o > lastOffset)) lastOffset = o;
  }
  await client.query(
    `with marked as (insert into etl.realtime_dirty (minute, load_id, topic, partition, last_offset)
       select m, $2, $3, $4, $5 from unnest($1::timestamptz[]) as m
       on conflict (minute, load_id) do nothing)
     select pg_notify('${REALTIME_CHANNEL}', '')`,
    [[...minutes].map((m) => new Date(m).toISOString()), batch.loadId, batch.topic, batch.partition, lastOffset],
  );
};
