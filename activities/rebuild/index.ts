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
import { rethrowClassified } from '../../lib/errors';
import { getObjectText, listObjects } from '../../lib/s3';
import { CATALOG_SPECS, type CatalogSource } from '../catalog/sources';
import { DEFAULT_CHUNK_ROWS, mergeCatalogChunk } from '../catalog';
import { heartbeat, keepAlive } from '../common/heartbeat';
import { runLoad } from '../common/loads';
import { quarantineRecords, type Rejected } from '../common/quarantine';
import { rawMessageValue } from '../common/raw';
import { DEFAULT_EVENTS_GROUP } from '../events';
import { loadEventRange } from '../events/load';
import type { ReadMessage } from '../events/reader';
import { createFilesActivities, RAW_SOURCE_META, type PurchaseFileRef } from '../files';
import { loadOrdersPage } from '../orders/load';
import { readOrdersPage } from '../orders/validation';

export const RAW_SOURCES = ['products', 'users', 'inventory', 'reviews', 'orders', 'purchases', 'events'] as const;
export type RawSource = (typeof RAW_SOURCES)[number];
export const isRawSource = (s: string): s is RawSource => (RAW_SOURCES as readonly string[]).includes(s);

export interface RebuildDeps { staging: Pool; s3: S3Client; bucket: string }

export interface RawDatesInput { source: RawSource; from?: string; to?: string }
/** One raw partition to replay; `group` is the consumer group whose offsets events restore. */
export interface ReplayRawInput { source: RawSource; dt: string; group?: string }
export interface ReplayRawOutput {
  source: RawSource; dt: string; objects: number; received: number; loaded: number; quarantined: number; duplicates: number;
  /** Objects replayed, but not exactly as first loaded, with the reason. */
  inexact: string[];
}

/** Load ids of replayed objects whose live load id cannot be recovered from the raw key. */
const replayLoadId = (key: string) => `rebuild/${key}`;

async function readLines(s3: S3Client, bucket: string, key: string): Promise<Buffer[]> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = Buffer.from(await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  const lines: Buffer[] = [];
  let at = 0;
  for (let nl = bytes.indexOf(0x0a, at); nl >= 0; nl = bytes.indexOf(0x0a, at)) {
    lines.push(bytes.subarray(at, nl));
    at = nl + 1;
  }
  if (at < bytes.length) lines.push(bytes.subarray(at));
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
    if (!page.ok) throw new Error(`raw orders page ${key} is not a page: ${page.problem}`);
    const sha256 = createHash('sha256').update(body).digest('hex');
    tally(out, await loadOrdersPage(staging, lake, { loadId: replayLoadId(key), dt, partitionStart: `${dt}T00:00:00.000Z`, partitionEnd: new Date(Date.parse(dt) + 86_400_000).toISOString(), page: 0, sha256, data: page.page.data }));
  }

  async function replayCatalog(source: CatalogSource, key: string, dt: string, out: ReplayRawOutput): Promise<void> {
    const spec = CATALOG_SPECS[source];
    const loadId = replayLoadId(key);
    const lines = await readLines(s3, bucket, key);
    tally(out, await runLoad(staging, { loadId, pipeline: 'catalog', source }, async (client) => {
      const rejected: Rejected[] = [];
      let valid = 0;
      let loaded = 0;
      for (let i = 0; i < lines.length; i += DEFAULT_CHUNK_ROWS) {
        const rows = lines.slice(i, i + DEFAULT_CHUNK_ROWS).filter((l) => l.length > 0).map((l) => JSON.parse(l.toString('utf8')) as Record<string, unknown>);
        const merged = await mergeCatalogChunk(client, spec, rows, loadId, i, rejected);
        valid += merged.valid;
        loaded += merged.loaded;
      }
      await quarantineRecords(client, lake, { source, dt, loadId }, rejected);
      const received = lines.filter((l) => l.length > 0).length;
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

  /** One events raw partition: per Kafka partition, its ranges in offset order, each from the group's stored offset on. */
  async function replayEvents(keys: string[], dt: string, group: string, out: ReplayRawOutput): Promise<void> {
    const ranges = keys.map((key) => ({ key, r: parseEventsRawName(key.slice(key.lastIndexOf('/') + 1)) }));
    for (const x of ranges.filter((y) => !y.r)) out.inexact.push(`${x.key}: not an events range name; skipped`);
    const byPartition = new Map<string, Array<{ key: string; r: NonNullable<ReturnType<typeof parseEventsRawName>> }>>();
    for (const x of ranges) if (x.r) byPartition.set(`${x.r.topic}\u0000${x.r.partition}`, [...(byPartition.get(`${x.r.topic}\u0000${x.r.partition}`) ?? []), { key: x.key, r: x.r }]);
    await Promise.all([...byPartition.values()].map(async (list) => {
      list.sort((a, b) => (a.r.first < b.r.first ? -1 : a.r.first > b.r.first ? 1 : Number(a.r.last - b.r.last)));
      for (const { key, r } of list) {
        const lines = await readLines(s3, bucket, key);
        const count = r.last - r.first + 1n;
        if (BigInt(lines.length) !== count) out.inexact.push(`${key}: ${lines.length} lines for ${count} offsets (a compacted gap); offsets assigned in order from ${r.first}`);
        const { rows } = await staging.query<{ next_offset: string }>(
          'select next_offset from etl.kafka_offsets where consumer_group = $1 and topic = $2 and partition = $3', [group, r.topic, r.partition]);
        const stored = rows[0] ? BigInt(rows[0].next_offset) : undefined;
        // An overlapping range (a crash between its raw write and its commit, then a re-read):
        // only what lies past the offsets already replayed is new; event_id dedupes the rest.
        const messages: ReadMessage[] = lines.map((l, i) => ({ partition: r.partition, offset: (r.first + BigInt(i)).toString(), value: rawMessageValue(l), timestamp: `${Date.parse(dt)}` }))
          .filter((m) => stored === undefined || BigInt(m.offset) >= stored);
        const first = messages[0];
        const last = messages[messages.length - 1];
        if (!first || !last) {
          out.objects++;
          continue;
        }
        const loadId = `events/${r.topic}/${r.partition}:${first.offset}-${last.offset}`;
        const summary = await runLoad(staging, { loadId, pipeline: 'events', source: 'events' }, async (client) => {
          // logStart = the stored offset: a gap before the range is recorded as skipped, never as lost.
          const from = stored?.toString();
          const counts = await loadEventRange(client, lake, { topic: r.topic, group, partition: r.partition, loadId, dt, messages, from, logStart: from }, []);
          return { ...counts, detail: { ...counts.detail, rawKey: key, rebuilt: true } };
        });
        if (summary.skipped) {
          await staging.query(
            `insert into etl.kafka_offsets (consumer_group, topic, partition, next_offset) values ($1, $2, $3, $4)
             on conflict (consumer_group, topic, partition) do update set next_offset = greatest(etl.kafka_offsets.next_offset, excluded.next_offset), updated_at = now()`,
            [group, r.topic, r.partition, (BigInt(last.offset) + 1n).toString()]);
        }
        tally(out, summary);
        heartbeat({ dt, objects: out.objects });
      }
    }));
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

    /** Replays every raw object of one source and date; objects replayed before are skipped by their load id. */
    async replayRawPartition(input: ReplayRawInput): Promise<ReplayRawOutput> {
      const { source, dt } = input;
      const out: ReplayRawOutput = { source, dt, objects: 0, received: 0, loaded: 0, quarantined: 0, duplicates: 0, inexact: [] };
      // A big object (a purchase file, a page) or a lock wait has no progress point of its own.
      const beat = setInterval(() => keepAlive({ dt, objects: out.objects }), 15_000);
      try {
        const keys = (await listObjects(s3, bucket, `raw/${source}/dt=${dt}/`)).map((o) => o.key).sort();
        if (source === 'events') {
          await replayEvents(keys, dt, input.group ?? DEFAULT_EVENTS_GROUP, out);
          return out;
        }
        for (const key of keys) {
          if (source === 'orders') await replayOrders(key, dt, out);
          else if (source === 'purchases') await replayPurchases(key, out);
          else await replayCatalog(source, key, dt, out);
          heartbeat({ dt, objects: out.objects });
        }
        return out;
      } catch (err) {
        rethrowClassified(err, `rebuild of raw/${source}/dt=${dt} (after ${out.objects} objects)`);
      } finally {
        clearInterval(beat);
      }
    },
  };
}

export type RebuildActivities = ReturnType<typeof createRebuildActivities>;
