/**
 * One partition range of the event stream, loaded in one transaction (inside runLoad): check that
 * the stored offset is where the range starts, merge the valid events into staging.events, quarantine
 * the rest, move the stored offset past the range and run the batch hooks. Either all of it commits
 * or none of it, so a crash before commit re-reads the same offsets and after commit they have moved.
 */
import type { Pool, PoolClient } from 'pg';
import { copyRows, inSavepoint, type CopyValue } from '../../lib/bulk';
import type { CheckedEvent } from '../../contract/records';
import type { ReadMessage } from './reader';
import { EVENT_STAGING_COLUMNS, eventRow, validateEvent, quarantinedValue } from './validation';
import type { LoadCounts } from '../common/loads';
import { quarantineRecords, type Rejected } from '../common/quarantine';
import type { Lake } from '../common/raw';

/** An event merged by this load (first time its event_id was seen), with where it came from. */
export type MergedEvent = CheckedEvent & { partition: number; offset: string };

/**
 * Runs inside the load's transaction after the merge. Extension point for work that must commit
 * with the events, e.g. per-minute realtime metrics: add a hook, not a second transaction.
 */
export type EventsBatchHook = (client: PoolClient, batch: { loadId: string; topic: string; partition: number; events: readonly MergedEvent[] }) => Promise<void>;

export interface EventRange {
  topic: string; group: string; partition: number; loadId: string; dt: string; messages: readonly ReadMessage[];
  /** The stored offset the read began at; absent when the group had none (it read from the log start). */
  from?: string;
  /** The partition's log start, needed when the first message is past `from` (to tell retention's loss from compaction's gaps). */
  logStart?: string;
}

/** Offsets deleted by Kafka's retention before they were read: [from, to). */
export interface LostRange { from: string; to: string; count: number }

/**
 * What a range starting at `first`, read from the stored offset `from`, lost: the offsets below the
 * log start that were never read. Offsets skipped at or above the log start were compacted away or
 * were transaction markers, which is no loss. Null when nothing was lost.
 */
export function lostBefore(from: bigint | undefined, first: bigint, logStart: bigint | undefined): LostRange | null {
  if (from === undefined || first <= from) return null;
  if (logStart === undefined) throw new Error(`a range starting at ${first} was read from ${from}: the log start is needed to tell a loss from a compacted gap`);
  const to = logStart < first ? logStart : first;
  return to > from ? { from: from.toString(), to: to.toString(), count: Number(to - from) } : null;
}

/** Another attempt moved the offsets first (a zombie or concurrent attempt): retry from the new offset. */
export class StaleOffsetsError extends Error {
  override readonly name = 'StaleOffsetsError';
}

/** A range's messages judged: the valid events to merge and the rest for quarantine. */
export interface JudgedRange { valid: MergedEvent[]; rejected: Rejected[] }

/**
 * Validates a range's messages. Pure work on the messages alone, so the stream does it before the
 * range's transaction, while the range before it on the same partition may still be committing.
 */
export function judgeRange(topic: string, messages: readonly ReadMessage[]): JudgedRange {
  const valid: MergedEvent[] = [];
  const rejected: Rejected[] = [];
  for (const m of messages) {
    const j = validateEvent(m.value);
    if (j.ok) valid.push({ ...j.event, partition: m.partition, offset: m.offset });
    // The exact bytes: as text when they are UTF-8 without NUL, else base64 (marked with `encoding`).
    else rejected.push({ ref: `${topic}/p${m.partition}@${m.offset}`, reason: j.reason, ...quarantinedValue(m.value) });
  }
  return { valid, rejected };
}

/**
 * judgeRange in slices, yielding to the event loop between them: the stream judges the next batch
 * while the batch before it commits, and a range judged in one go would hold back that batch's
 * round trips to PostgreSQL for its whole length.
 */
export async function judgeRangeYielding(topic: string, messages: readonly ReadMessage[], slice = 500): Promise<JudgedRange> {
  const out: JudgedRange = { valid: [], rejected: [] };
  for (let i = 0; i < messages.length; i += slice) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const part = judgeRange(topic, messages.slice(i, i + slice));
    for (const v of part.valid) out.valid.push(v);
    for (const r of part.rejected) out.rejected.push(r);
  }
  return out;
}

/** `judged` is judgeRange(r.topic, r.messages) when the caller did it already. */
export async function loadEventRange(client: PoolClient, lake: Lake, r: EventRange, hooks: readonly EventsBatchHook[], judged?: JudgedRange): Promise<LoadCounts> {
  const first = r.messages[0]?.offset;
  const last = r.messages[r.messages.length - 1]?.offset;
  if (first === undefined || last === undefined) throw new Error(`events ${r.loadId}: empty range`);
  // Serialises attempts on this partition; the row may not exist yet, so a row lock is not enough.
  await client.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`etl.kafka_offsets/${r.group}/${r.topic}/${r.partition}`]);
  // The commit does not wait for its WAL flush (+16% events/s, docs/ingestion.md): the range's rows,
  // its load record and its stored offset are one transaction, so a database crash that loses the
  // last commits loses all three together, and the range is read from Kafka again. What staging
  // holds stays exactly once; only how recent it is can step back.
  await client.query('set local synchronous_commit = off');
  const { rows } = await client.query<{ next_offset: string }>(
    'select next_offset from etl.kafka_offsets where consumer_group = $1 and topic = $2 and partition = $3',
    [r.group, r.topic, r.partition],
  );
  const stored = rows[0]?.next_offset;
  const unmoved = stored === undefined || r.from === undefined ? stored === r.from : BigInt(stored) === BigInt(r.from);
  if (!unmoved) {
    throw new StaleOffsetsError(`events ${r.loadId}: the stored offset of ${r.group}/${r.topic}[${r.partition}] is ${stored ?? 'unset'}, not ${r.from ?? 'unset'} as when this range was read; another attempt loaded a range first, the next attempt reads from ${stored}`);
  }
  if (r.from !== undefined && BigInt(first) < BigInt(r.from)) throw new Error(`events ${r.loadId}: the range starts at ${first}, before the offset ${r.from} it was read from (a reader bug)`);
  const lost = lostBefore(r.from === undefined ? undefined : BigInt(r.from), BigInt(first), r.logStart === undefined ? undefined : BigInt(r.logStart));
  const skipped = r.from === undefined ? 0n : BigInt(first) - BigInt(r.from) - BigInt(lost?.count ?? 0);

  const { valid, rejected } = judged ?? judgeRange(r.topic, r.messages);
  const merged = await mergeEvents(client, valid, r.loadId);
  const quarantineKey = await quarantineRecords(client, lake, { source: 'events', dt: r.dt, loadId: r.loadId }, rejected);
  await client.query(
    `insert into etl.kafka_offsets (consumer_group, topic, partition, next_offset) values ($1, $2, $3, $4)
     on conflict (consumer_group, topic, partition) do update set next_offset = excluded.next_offset, updated_at = now()`,
    [r.group, r.topic, r.partition, (BigInt(last) + 1n).toString()],
  );
  for (const hook of hooks) await hook(client, { loadId: r.loadId, topic: r.topic, partition: r.partition, events: merged });
  return {
    received: r.messages.length, loaded: merged.length, quarantined: rejected.length, duplicates: valid.length - merged.length,
    ...(lost ? { lost: lost.count } : {}),
    detail: {
      topic: r.topic, consumerGroup: r.group, partition: r.partition, firstOffset: first, lastOffset: last, quarantineKey,
      ...(lost ? { lostFrom: lost.from, lostTo: lost.to } : {}),
      // Offsets between the stored one and the range that Kafka still has no record at (compaction,
      // transaction markers): no loss, but kept in the record so a gap is never silent.
      ...(skipped > 0n ? { skippedOffsets: Number(skipped) } : {}),
    },
  };
}

/**
 * Moves a group's stored offset past `lastOffset` (never back) when the range's load was found done
 * already (loaded for another group, or by an earlier rebuild): only the offset is left to record.
 */
export async function moveOffsetPast(db: Pool, group: string, topic: string, partition: number, lastOffset: string): Promise<void> {
  await db.query(
    `insert into etl.kafka_offsets (consumer_group, topic, partition, next_offset) values ($1, $2, $3, $4)
     on conflict (consumer_group, topic, partition) do update set next_offset = greatest(etl.kafka_offsets.next_offset, excluded.next_offset), updated_at = now()`,
    [group, topic, partition, (BigInt(lastOffset) + 1n).toString()],
  );
}

let temp = 0;

/**
 * mergeRows for events, but returning which events were new, for the hooks. The events already in
 * staging are looked up first and the new ones COPYed straight into staging.events: no temporary
 * table, sort or INSERT ... SELECT per range, which was most of PostgreSQL's share of a range
 * (docs/ingestion.md, issue 12 P4). Of two copies of one event_id in a batch, the earlier offset
 * is the one kept. Another transaction may commit one of the same event_ids between the lookup and
 * the COPY (a copy of an event in another partition): the COPY then fails on the primary key, is
 * rolled back to its savepoint, and the range is merged with ON CONFLICT DO NOTHING instead.
 */
export async function mergeEvents(client: PoolClient, events: MergedEvent[], loadId: string): Promise<MergedEvent[]> {
  if (events.length === 0) return [];
  const ids = new Set<string>();
  const firsts = events.filter((e) => !ids.has(e.eventId) && ids.add(e.eventId));
  const { rows } = await client.query<{ event_id: string }>('select event_id from staging.events where event_id = any($1::text[])', [[...ids]]);
  const stored = new Set(rows.map((r) => r.event_id));
  const fresh = stored.size === 0 ? firsts : firsts.filter((e) => !stored.has(e.eventId));
  if (fresh.length === 0) return [];
  const copied = await inSavepoint(client, 'merge_events', ['23505'],
    () => copyRows(client, 'staging.events', EVENT_STAGING_COLUMNS, fresh.map((e): CopyValue[] => eventRow(e, e.partition, e.offset, loadId))));
  return copied ? fresh : mergeEventsOnConflict(client, fresh, loadId);
}

/** The merge when a concurrent load committed some of the same event_ids: through a temporary table and ON CONFLICT. */
export async function mergeEventsOnConflict(client: PoolClient, events: MergedEvent[], loadId: string): Promise<MergedEvent[]> {
  const tmp = `_events_${process.pid}_${++temp}`;
  const cols = EVENT_STAGING_COLUMNS.join(', ');
  await client.query(`create temp table ${tmp} (like staging.events including defaults) on commit drop`);
  await copyRows(client, tmp, EVENT_STAGING_COLUMNS, events.map((e): CopyValue[] => eventRow(e, e.partition, e.offset, loadId)));
  const res = await client.query<{ event_id: string }>(
    `insert into staging.events (${cols}) select ${cols} from ${tmp} order by kafka_offset on conflict (event_id) do nothing returning event_id`,
  );
  await client.query(`drop table ${tmp}`);
  const fresh = new Set(res.rows.map((x) => x.event_id));
  return events.filter((e) => fresh.delete(e.eventId));
}
