/**
 * Rebuild from the raw lake (docs/recovery.md): replays what the raw zone holds through the same
 * validation and staging merge the live pipelines use, one raw partition (source, dt) per call.
 * The transform is then run over what arrived (workflows/rebuild.ts). Every replayed object is a
 * load with an id, so a repeated or resumed rebuild skips what it did; events keep their Kafka
 * offsets, and the consumer group's stored offsets come back with them.
 *
 * What raw holds, per source:
 * - orders: each API page as received (`raw/orders/dt=<partition date>/<load>.json`);
 * - products, users, inventory, reviews: the rows read from the shop database, as JSON lines;
 * - purchases: each dropped file, byte for byte, with its original key, ETag and LastModified in
 *   the object's metadata (copies made before that metadata existed fall back to the name);
 * - events: each Kafka range's message values in offset order, one per line
 *   (`<topic>-p<partition>-<first>-<last>.jsonl`); ranges can overlap after a crash.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Pool } from 'pg';
import type { LoadSummary } from '../../contract/pipeline';
import { ApplicationFailure } from '@temporalio/common';
import { BadDataError, classifyError, rethrowClassified } from '../../lib/errors';
import { getObjectText, listObjects } from '../../lib/s3';
import { CATALOG_SPECS, type CatalogSource } from '../catalog/sources';
import { DEFAULT_CHUNK_ROWS, mergeCatalogChunk } from '../catalog';
import { heartbeat, whileAlive } from '../common/heartbeat';
import { runLoad } from '../common/loads';
import { quarantineRecords, type Rejected } from '../common/quarantine';
import { rawMessageValue } from '../common/raw';
import { DEFAULT_EVENTS_GROUP } from '../events';
import { loadEventRange, moveOffsetPast } from '../events/load';
import type { ReadMessage } from '../events/reader';
import { createFilesActivities, RAW_SOURCE_META, type PurchaseFileRef } from '../files';
import { loadOrdersPage } from '../orders/load';
import { readOrdersPage } from '../orders/validation';

import { RAW_SOURCES, type RawSource } from '../../contract/pipeline';
export { RAW_SOURCES, type RawSource };
/** The staging tables the sources fill (staging.<table>). */
export const STAGING_TABLES = ['orders', 'order_lines', 'products', 'users', 'inventory', 'reviews', 'events', 'purchases'] as const;

export const isRawSource = (s: string): s is RawSource => (RAW_SOURCES as readonly string[]).includes(s);

export interface RebuildDeps { staging: Pool; s3: S3Client; bucket: string }

export interface RawDatesInput { source: RawSource; from?: string; to?: string }
/** One raw partition to replay; `group` is the consumer group whose offsets events restore. */
export interface ReplayRawInput { source: Exclude<RawSource, 'events'>; dt: string }
/** One Kafka partition's ranges over the raw dates in [from, to]; `group` is the consumer group whose offsets they restore. */
export interface ReplayEventsInput { topic: string; partition: number; group: string; from?: string; to?: string }
type EventsRawName = NonNullable<ReturnType<typeof parseEventsRawName>>;
export interface ReplayRawOutput {
  source: RawSource; dt: string; objects: number; received: number; loaded: number; quarantined: number; duplicates: number;
  /** Objects replayed, but not exactly as first loaded, or not replayed, with the reason. */
  inexact: string[];
}

/** Load ids of replayed objects whose live load id cannot be recovered from the raw key. */
const replayLoadId = (key: string) => `rebuild/${key}`;

/** The object's lines (without their newline), streamed: an initial catalog load is one object holding a whole table. */
async function* rawLines(s3: S3Client, bucket: string, key: string): AsyncGenerator<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of res.Body as AsyncIterable<Uint8Array>) {
    const buf: Buffer = rest.length ? Buffer.concat([rest, chunk]) : Buffer.from(chunk);
    let at = 0;
    for (let nl = buf.indexOf(0x0a, at); nl >= 0; nl = buf.indexOf(0x0a, at)) {
      yield buf.subarray(at, nl);
      at = nl + 1;
    }
    rest = buf.subarray(at);
  }
  if (rest.length) yield rest;
}

/** A catalog raw line as the row it was; a line that is not one is bad data (listed, not retried). */
function parseRow(line: Buffer, key: string, n: number): Record<string, unknown> {
  try {
    const row: unknown = JSON.parse(line.toString('utf8'));
    if (row && typeof row === 'object' && !Array.isArray(row)) return row as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new BadDataError(`raw catalog object ${key}: line ${n} is not a JSON row: ${JSON.stringify(line.subarray(0, 120).toString('utf8'))}`, key);
}

async function readLines(s3: S3Client, bucket: string, key: string): Promise<Buffer[]> {
  const lines: Buffer[] = [];
  for await (const l of rawLines(s3, bucket, key)) lines.push(l);
  return lines;
}

/** `<topic>-p<partition>-<first>-<last>.jsonl`, the raw name of an events range (activities/events). */
export function parseEventsRawName(name: string): { topic: string; partition: number; first: bigint; last: bigint } | null {
  const m = /^(.+)-p(\d+)-(\d+)-(\d+)\.jsonl$/.exec(name);
  if (!m) return null;
  return { topic: m[1] as string, partition: Number(m[2]), first: BigInt(m[3] as string), last: BigInt(m[4] as string) };
}

export function createRebuildActivities(deps: RebuildDeps) {
  const { staging, s3, bucket } = deps;
  const lake = { s3, bucket };
  const files = createFilesActivities(deps);
  const tally = (out: ReplayRawOutput, l: LoadSummary) => {
    out.objects++;
    if (l.skipped) return;
    out.received += l.received;
    out.loaded += l.loaded;
    out.quarantined += l.quarantined;
    out.duplicates += l.duplicates;
  };

  async function replayOrders(key: string, dt: string, out: ReplayRawOutput): Promise<void> {
    const body = await getObjectText(s3, bucket, key);
    const page = readOrdersPage(body, 'application/json');
    if (!page.ok) throw new BadDataError(`raw orders page ${key} is not a page: ${page.problem}`, key);
    const sha256 = createHash('sha256').update(body).digest('hex');
    // The page number is in the name (safeName of `<workflowId>/orders/page-<n>`): quarantine refs are `page-<n>:<i>`, as live.
    const pageNo = Number(/page-(\d+)/.exec(key.slice(key.lastIndexOf('/') + 1))?.[1] ?? 0);
    tally(out, await loadOrdersPage(staging, lake, { loadId: replayLoadId(key), dt, partitionStart: `${dt}T00:00:00.000Z`, partitionEnd: new Date(Date.parse(dt) + 86_400_000).toISOString(), page: pageNo, sha256, data: page.page.data }));
  }

  async function replayCatalog(source: CatalogSource, key: string, dt: string, out: ReplayRawOutput): Promise<void> {
    const spec = CATALOG_SPECS[source];
    const loadId = replayLoadId(key);
    tally(out, await runLoad(staging, { loadId, pipeline: 'catalog', source }, async (client) => {
      const rejected: Rejected[] = [];
      let received = 0;
      let valid = 0;
      let loaded = 0;
      let rows: Record<string, unknown>[] = [];
      const flush = async () => {
        const merged = await mergeCatalogChunk(client, spec, rows, loadId, received, rejected);
        received += rows.length;
        valid += merged.valid;
        loaded += merged.loaded;
        rows = [];
        heartbeat({ key, received });
      };
      for await (const line of rawLines(s3, bucket, key)) {
        if (line.length === 0) continue;
        rows.push(parseRow(line, key, received + rows.length + 1));
        if (rows.length >= DEFAULT_CHUNK_ROWS) await flush();
      }
      if (rows.length) await flush();
      await quarantineRecords(client, lake, { source, dt, loadId }, rejected);
      return { received, loaded, quarantined: rejected.length, duplicates: valid - loaded, detail: { rawKey: key } };
    }));
  }

  async function replayPurchases(key: string, out: ReplayRawOutput): Promise<void> {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const meta = head.Metadata ?? {};
    const name = key.slice(key.lastIndexOf('/') + 1);
    let file: PurchaseFileRef;
    const sourceKey = meta[RAW_SOURCE_META.key];
    const etag = meta[RAW_SOURCE_META.etag];
    const lastModified = meta[RAW_SOURCE_META.lastModified];
    if (sourceKey && etag && lastModified) {
      file = { key: decodeURIComponent(sourceKey), etag, size: head.ContentLength ?? 0, lastModified };
    } else {
      // A copy from before the metadata: the dropped key and time are not in raw.
      const m = /^(.*)\.([^.]+)(\.[a-z.]+)$/i.exec(name);
      file = { key: `rebuilt/${m ? `${m[1]}${m[3]}` : name}`, etag: (head.ETag ?? '').replace(/"/g, ''), size: head.ContentLength ?? 0, lastModified: (head.LastModified ?? new Date(0)).toISOString() };
      out.inexact.push(`${key}: no source metadata (copied before it existed); loaded as ${file.key}, ordered by the copy's time`);
    }
    const res = await files.ingestPurchaseFile({ file, fromRaw: key });
    if (res.load) tally(out, res.load);
  }

  /**
   * One Kafka partition's ranges across every raw date in range, in offset order (the raw date is
   * the first message's Kafka timestamp, which need not follow the offsets), each from the group's
   * stored offset on.
   */
  async function replayEventsPartition(input: ReplayEventsInput, out: ReplayRawOutput): Promise<void> {
    const { topic, partition, group } = input;
    const ranges = (await eventRanges(input.from, input.to)).filter((x) => x.r.topic === topic && x.r.partition === partition);
    ranges.sort((a, b) => (a.r.first < b.r.first ? -1 : a.r.first > b.r.first ? 1 : a.r.last < b.r.last ? -1 : a.r.last > b.r.last ? 1 : 0));
    for (const { key, dt, r } of ranges) {
      const lines = await readLines(s3, bucket, key);
      const count = r.last - r.first + 1n;
      if (BigInt(lines.length) !== count) out.inexact.push(`${key}: ${lines.length} lines for ${count} offsets (a compacted gap); offsets assigned in order from ${r.first}`);
      const { rows } = await staging.query<{ next_offset: string }>(
        'select next_offset from etl.kafka_offsets where consumer_group = $1 and topic = $2 and partition = $3', [group, topic, partition]);
      const stored = rows[0] ? BigInt(rows[0].next_offset) : undefined;
      // An overlapping range (a crash between its raw write and its commit, then a re-read):
      // only what lies past the offsets already replayed is new; event_id dedupes the rest.
      const messages: ReadMessage[] = lines.map((l, i) => ({ partition, offset: (r.first + BigInt(i)).toString(), value: rawMessageValue(l), timestamp: `${Date.parse(dt)}` }))
        .filter((m) => stored === undefined || BigInt(m.offset) >= stored);
      const first = messages[0];
      const last = messages[messages.length - 1];
      if (!first || !last) {
        out.objects++;
        continue;
      }
      const loadId = `events/${topic}/${partition}:${first.offset}-${last.offset}`;
      const summary = await runLoad(staging, { loadId, pipeline: 'events', source: 'events' }, async (client) => {
        // logStart = the stored offset: a gap before the range is recorded as skipped, never as lost.
        const from = stored?.toString();
        const counts = await loadEventRange(client, lake, { topic, group, partition, loadId, dt, messages, from, logStart: from }, []);
        return { ...counts, detail: { ...counts.detail, rawKey: key, rebuilt: true } };
      });
      if (summary.skipped) await moveOffsetPast(staging, group, topic, partition, last.offset);
      tally(out, summary);
      heartbeat({ key, objects: out.objects });
    }
  }

  /** Every events range of the raw dates in [from, to], with its date. */
  async function eventRanges(from?: string, to?: string): Promise<Array<{ key: string; dt: string; r: EventsRawName }>> {
    const out: Array<{ key: string; dt: string; r: EventsRawName }> = [];
    for (const o of await listObjects(s3, bucket, 'raw/events/')) {
      const dt = /\/dt=(\d{4}-\d{2}-\d{2})\//.exec(o.key)?.[1];
      const r = parseEventsRawName(o.key.slice(o.key.lastIndexOf('/') + 1));
      if (dt && r && (!from || dt >= from) && (!to || dt <= to)) out.push({ key: o.key, dt, r });
    }
    return out;
  }

  /** Replays one object; a record or object that cannot be replayed however often it is tried is listed, not fatal. */
  async function replayOne(out: ReplayRawOutput, key: string, replay: () => Promise<void>): Promise<void> {
    try {
      await replay();
    } catch (err) {
      if (classifyError(err).retryable) throw err;
      out.objects++;
      out.inexact.push(`${key}: not replayed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 1000));
    }
  }

  return {
    /** The dt partitions of a source's raw zone within [from, to] (dates, both optional), in order. */
    async rawDates(input: RawDatesInput): Promise<string[]> {
      const prefix = `raw/${input.source}/`;
      try {
        const dates: string[] = [];
        let token: string | undefined;
        do {
          const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
          for (const p of res.CommonPrefixes ?? []) {
            const d = /dt=(\d{4}-\d{2}-\d{2})\/$/.exec(p.Prefix ?? '')?.[1];
            if (d && (!input.from || d >= input.from) && (!input.to || d <= input.to)) dates.push(d);
          }
          token = res.IsTruncated ? res.NextContinuationToken : undefined;
        } while (token);
        return dates.sort();
      } catch (err) {
        rethrowClassified(err, `rebuild: listing s3://${bucket}/${prefix}`);
      }
    },

    /**
     * The (topic, partition) pairs of the events raw dates in range. Refuses when the consumer group
     * already has stored offsets that no rebuild wrote: its events are in staging already, and
     * replaying from those offsets would skip every range without a word.
     */
    async eventPartitions(input: { from?: string; to?: string; group?: string }): Promise<Array<{ topic: string; partition: number }>> {
      const group = input.group ?? DEFAULT_EVENTS_GROUP;
      try {
        const { rows } = await staging.query<{ live: boolean }>(
          `select exists (select 1 from etl.kafka_offsets where consumer_group = $1)
             and not exists (select 1 from etl.loads where pipeline = 'events' and detail->>'rebuilt' = 'true' and detail->>'consumerGroup' = $1) as live`, [group]);
        if (rows[0]?.live) {
          throw ApplicationFailure.nonRetryable(`consumer group ${group} already has stored offsets (etl.kafka_offsets) from live loads: its events are in staging. `
            + 'A rebuild replays into empty staging: truncate staging first (docs/recovery.md), or rebuild under another --group', 'RebuildNotEmpty');
        }
        const seen = new Map<string, { topic: string; partition: number }>();
        for (const { r } of await eventRanges(input.from, input.to)) seen.set(`${r.topic}\u0000${r.partition}`, { topic: r.topic, partition: r.partition });
        return [...seen.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
      } catch (err) {
        rethrowClassified(err, `rebuild: listing the events ranges of s3://${bucket}/raw/events/`);
      }
    },

    /** Replays one Kafka partition's raw ranges in offset order; on a retry, ranges below the stored offset are past. */
    async replayEventsPartition(input: ReplayEventsInput): Promise<ReplayRawOutput> {
      const out: ReplayRawOutput = { source: 'events', dt: `${input.topic}/${input.partition}`, objects: 0, received: 0, loaded: 0, quarantined: 0, duplicates: 0, inexact: [] };
      try {
        await whileAlive(() => replayEventsPartition(input, out), () => ({ objects: out.objects }), 15_000);
        return out;
      } catch (err) {
        rethrowClassified(err, `rebuild of events ${input.topic}[${input.partition}] (after ${out.objects} ranges)`);
      }
    },

    /**
     * When the rows now in staging arrived (min and max ingested_at over the source tables): the
     * transform's window after a rebuild. Tables without a B-tree on ingested_at (order lines,
     * reviews, and purchases, whose index is a BRIN since migration 097) are read whole, so it
     * heartbeats while the statement runs.
     */
    async stagingArrivals(): Promise<{ first: string; last: string } | null> {
      const { rows } = await whileAlive(() => staging.query<{ first: Date | null; last: Date | null }>(
        `select min(a) as first, max(b) as last from (${STAGING_TABLES.map((t) => `select min(ingested_at) a, max(ingested_at) b from staging.${t}`).join(' union all ')}) x`));
      const r = rows[0];
      return r?.first && r.last ? { first: r.first.toISOString(), last: r.last.toISOString() } : null;
    },

    /** Replays every raw object of one source and date; objects replayed before are skipped by their load id. */
    async replayRawPartition(input: ReplayRawInput): Promise<ReplayRawOutput> {
      const { source, dt } = input;
      const out: ReplayRawOutput = { source, dt, objects: 0, received: 0, loaded: 0, quarantined: 0, duplicates: 0, inexact: [] };
      // A big object (a purchase file, a page) or a lock wait has no progress point of its own.
      try {
        if ((source as RawSource) === 'events') throw ApplicationFailure.nonRetryable('events are replayed per Kafka partition (replayEventsPartition), not per raw date', 'InvalidRebuildInput');
        await whileAlive(async () => {
          const keys = (await listObjects(s3, bucket, `raw/${source}/dt=${dt}/`)).map((o) => o.key).sort();
          for (const key of keys) {
            await replayOne(out, key, () => (source === 'orders' ? replayOrders(key, dt, out) : source === 'purchases' ? replayPurchases(key, out) : replayCatalog(source, key, dt, out)));
            heartbeat({ dt, objects: out.objects });
          }
        }, () => ({ dt, objects: out.objects }), 15_000);
        return out;
      } catch (err) {
        rethrowClassified(err, `rebuild of raw/${source}/dt=${dt} (after ${out.objects} objects)`);
      }
    },
  };
}

export type RebuildActivities = ReturnType<typeof createRebuildActivities>;
