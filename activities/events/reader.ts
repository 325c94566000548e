/**
 * A long-lived Kafka reader per worker process and (topic, group): one consumer joins once and keeps
 * fetching into per-partition buffers, so a batch activity costs no group join or rebalance. The
 * reader never decides where to read from: each read names the offsets stored in PostgreSQL and the
 * reader seeks when its position disagrees. Kafka's committed offsets are not used (autoCommit off).
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { inShard, type EventsShard } from '../../workflows/events-shard';

export interface ReadMessage { partition: number; offset: string; value: Buffer | null; timestamp: string }
/** A batch ends at maxMessages or at maxBytes of values (default unbounded), or after maxWaitMs. */
export interface ReadOptions { maxMessages: number; maxBytes?: number; maxWaitMs: number; onWait?: () => void }

/**
 * breaks: offsets where kafkajs restarted the partition's fetch past where it was (the log start,
 * after retention deleted what came next) while messages before it were still buffered. A batch never
 * spans a break, so the range after it starts past its stored offset and its load counts the gap.
 */
interface PartitionState { floor: bigint; fetchPos: bigint; buf: KafkaMessage[]; bytes: number; paused: boolean; breaks: bigint[] }

const HIGH_WATER = 100_000; // buffered messages per partition before fetching pauses
const HIGH_WATER_BYTES = 64 << 20; // or buffered bytes: a stream of 1 MB messages must not fill the heap
const IDLE_CLOSE_MS = 10 * 60_000;
const size = (m: Pick<KafkaMessage, 'value'>) => m.value?.length ?? 0;

/**
 * A batch from per-partition buffers: a fair share per partition first (of the count and of the
 * bytes), then whatever is left to partitions with more. Each partition gives a prefix of its buffer,
 * and its first message is taken whatever its size, so no message is too large to ever be read and
 * no partition waits behind another's large ones: a batch exceeds maxBytes by at most one message
 * per partition.
 */
export function takeFair(bufs: ReadonlyMap<number, readonly KafkaMessage[]>, max: number, maxBytes = Infinity): ReadMessage[] {
  const out: ReadMessage[] = [];
  const counts = new Map<number, number>();
  const taken = new Map<number, number>();
  let bytes = 0;
  const n = Math.max(1, bufs.size);
  for (const [shareCount, shareBytes] of [[Math.ceil(max / n), maxBytes / n], [max, maxBytes]] as const) {
    for (const [p, buf] of bufs) {
      let have = counts.get(p) ?? 0;
      let mine = taken.get(p) ?? 0;
      for (let m = buf[have]; m && have < shareCount && out.length < max; m = buf[have]) {
        if (have > 0 && (bytes + size(m) > maxBytes || mine + size(m) > shareBytes)) break;
        out.push({ partition: p, offset: m.offset, value: m.value, timestamp: m.timestamp });
        have++;
        mine += size(m);
        bytes += size(m);
      }
      counts.set(p, have);
      taken.set(p, mine);
    }
  }
  return out;
}

/**
 * The part of a partition's buffer a batch may take: the messages before the first break, or, when
 * the buffer already starts at or past that break, from there to the next (the break is then used
 * up and removed). `buf` starts at the requested offset.
 */
export function beforeBreak(buf: readonly KafkaMessage[], breaks: bigint[]): readonly KafkaMessage[] {
  while (breaks.length > 0) {
    const first = buf[0];
    const brk = breaks[0] as bigint;
    if (first && BigInt(first.offset) >= brk) {
      breaks.shift();
      continue;
    }
    const end = buf.findIndex((m) => BigInt(m.offset) >= brk);
    return end < 0 ? buf : buf.slice(0, end);
  }
  return buf;
}

export class EventReader {
  private consumer: Consumer | null = null;
  private starting: Promise<void> | null = null;
  private readonly parts = new Map<number, PartitionState>();
  private low = new Map<number, bigint>();
  private wake: (() => void) | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private idle: NodeJS.Timeout | null = null;
  private crashed: Error | null = null;

  constructor(private readonly kafka: Kafka, readonly topic: string, readonly group: string, private readonly onClose: () => void, readonly shard?: EventsShard) {}

  /** Messages from `stored` (partition -> next offset; absent = earliest kept by Kafka), up to the limits. */
  read(stored: ReadonlyMap<number, bigint>, o: ReadOptions): Promise<ReadMessage[]> {
    const next = this.queue.then(() => this.readNow(stored, o));
    this.queue = next.catch(() => undefined); // one read at a time; a failed read does not block the next
    return next;
  }

  private async readNow(stored: ReadonlyMap<number, bigint>, o: ReadOptions): Promise<ReadMessage[]> {
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => void this.close(), IDLE_CLOSE_MS).unref();
    // A reader that failed to start or crashed is dropped: the retried attempt builds a fresh one.
    await (this.starting ??= this.start(stored).catch(async (err: unknown) => {
      await this.close();
      throw err;
    }));
    if (this.crashed) {
      await this.close();
      throw new Error(`Kafka reader for ${this.topic} crashed: ${this.crashed.message}`);
    }
    const consumer = this.consumer;
    if (!consumer) throw new Error(`Kafka reader for ${this.topic} was closed`);
    for (const [p, st] of this.parts) {
      const want = stored.get(p) ?? this.low.get(p) ?? 0n;
      if (want >= st.floor && want <= st.fetchPos) {
        const drop = st.buf.findIndex((m) => BigInt(m.offset) >= want);
        for (const m of st.buf.splice(0, drop < 0 ? st.buf.length : drop)) st.bytes -= size(m);
      } else {
        consumer.seek({ topic: this.topic, partition: p, offset: want.toString() });
        Object.assign(st, { fetchPos: want, buf: [], bytes: 0, breaks: [] });
      }
      st.floor = want;
      if (st.paused && st.buf.length < HIGH_WATER / 2 && st.bytes < HIGH_WATER_BYTES / 2) {
        consumer.resume([{ topic: this.topic, partitions: [p] }]);
        st.paused = false;
      }
    }
    const deadline = Date.now() + o.maxWaitMs;
    const maxBytes = o.maxBytes ?? Infinity;
    while (this.buffered('count') < o.maxMessages && this.buffered('bytes') < maxBytes && Date.now() < deadline && !this.crashed) {
      o.onWait?.();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(1000, deadline - Date.now()));
        this.wake = () => (clearTimeout(t), resolve());
      });
    }
    return takeFair(new Map([...this.parts].map(([p, st]) => [p, beforeBreak(st.buf, st.breaks)])), o.maxMessages, maxBytes);
  }

  private buffered(what: 'count' | 'bytes'): number {
    let n = 0;
    for (const st of this.parts.values()) n += what === 'count' ? st.buf.length : st.bytes;
    return n;
  }

  private async start(stored: ReadonlyMap<number, bigint>): Promise<void> {
    const all = await logStartOffsets(this.kafka, this.topic);
    this.low = new Map([...all].filter(([p]) => inShard(p, this.shard)));
    for (const [p, low] of this.low) {
      const at = stored.get(p) ?? low;
      this.parts.set(p, { floor: at, fetchPos: at, buf: [], bytes: 0, paused: false, breaks: [] });
    }
    // The group only carries the connection; positions live in PostgreSQL, so a unique id is harmless.
    const consumer = this.kafka.consumer({
      groupId: `${this.group}.reader.${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`,
      maxBytesPerPartition: 4 << 20, maxWaitTimeInMs: 200, sessionTimeout: 30_000, retry: { retries: 10 },
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.crashed = e.payload.error;
      this.wake?.();
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (b) => this.onBatch(b) });
    // Another shard's partitions are never fetched (the group is this reader's alone, so it is assigned them all).
    const others = [...all.keys()].filter((p) => !this.parts.has(p));
    if (others.length > 0) consumer.pause([{ topic: this.topic, partitions: others }]);
    for (const [p, st] of this.parts) consumer.seek({ topic: this.topic, partition: p, offset: st.fetchPos.toString() });
  }

  private async onBatch({ batch, resolveOffset, isStale, pause }: EachBatchPayload): Promise<void> {
    const st = this.parts.get(batch.partition);
    if (!st || isStale()) return; // a seek is pending: this batch was fetched from the old position
    const fetched = BigInt((batch as unknown as { fetchedOffset: string }).fetchedOffset);
    if (fetched < st.fetchPos) {
      this.consumer?.seek({ topic: this.topic, partition: batch.partition, offset: st.fetchPos.toString() });
      return;
    }
    // fetched > fetchPos when Kafka had no records at fetchPos any more (retention deleted them, and
    // kafkajs reset to the log start): the range loaded next starts past its stored offset, and its
    // load counts the gap as lost (loadEventRange). With messages still buffered before the gap, a
    // break keeps a batch from spanning it. Offsets skipped inside a batch (compaction, transaction
    // markers) are gaps too, but nothing is lost there.
    if (fetched > st.fetchPos && st.buf.length > 0) st.breaks.push(fetched);
    for (const m of batch.messages) {
      if (BigInt(m.offset) < st.fetchPos) continue;
      st.buf.push(m);
      st.bytes += size(m);
    }
    st.fetchPos = BigInt(batch.lastOffset()) + 1n;
    resolveOffset(batch.lastOffset());
    if (st.buf.length >= HIGH_WATER || st.bytes >= HIGH_WATER_BYTES) {
      pause();
      st.paused = true;
    }
    this.wake?.();
  }

  async close(): Promise<void> {
    this.onClose();
    if (this.idle) clearTimeout(this.idle);
    const c = this.consumer;
    this.consumer = null;
    await c?.disconnect().catch(() => undefined);
  }
}

/** Each partition's log start: the earliest offset Kafka still keeps (retention moves it up). */
export async function logStartOffsets(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.low)]));
  } finally {
    await admin.disconnect();
  }
}

const readers = new Map<string, EventReader>();

/** The process's reader for (topic, group, shard), created on first use. */
export function eventReader(kafka: Kafka, topic: string, group: string, shard?: EventsShard): EventReader {
  const key = `${topic}\u0000${group}\u0000${shard ? `${shard.index}/${shard.count}` : '*'}`;
  let r = readers.get(key);
  if (!r) {
    const created: EventReader = new EventReader(kafka, topic, group, () => {
      if (readers.get(key) === created) readers.delete(key);
    }, shard);
    readers.set(key, created);
    r = created;
  }
  return r;
}

/** Disconnects every reader of this process (worker shutdown, end of a test file). */
export async function closeEventReaders(): Promise<void> {
  await Promise.all([...readers.values()].map((r) => r.close()));
}
