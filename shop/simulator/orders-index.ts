/**
 * Every order version in memory, sorted by (updated_at, order_id, seq). Each entry keeps the line
 * exactly as read so the API sends versions byte-for-byte as the dataset has them. A few hundred
 * bytes per version: a million versions is a few hundred MB, the documented limit of this design.
 */
import { compareKeys, type VersionKey } from './cursor';

export interface IndexedVersion extends VersionKey { raw: string }

export interface PageQuery {
  /** Inclusive lower bound on updated_at (epoch ms). */
  since: number;
  /** Exclusive upper bound on updated_at (epoch ms). */
  before: number;
  /** Resume strictly after this key. */
  after: VersionKey | null;
  limit: number;
  /** Live mode: versions updated after this instant do not exist yet. */
  visibleUntil: number;
}

export interface Page { versions: IndexedVersion[]; next: VersionKey | null }

export class OrdersIndex {
  private readonly entries: IndexedVersion[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.entries.length;
  }

  /** Adds a version; seq defaults to arrival order, which keeps equal keys in file order. */
  add(ms: number, orderId: string, raw: string): IndexedVersion {
    const v: IndexedVersion = { ms, orderId, seq: this.nextSeq++, raw };
    const last = this.entries[this.entries.length - 1];
    // Files and live generation are mostly in updated_at order: append is the common case.
    if (!last || compareKeys(last, v) <= 0) this.entries.push(v);
    else this.entries.splice(this.firstAfter(v), 0, v);
    return v;
  }

  /** Index of the first entry with key > k. */
  private firstAfter(k: VersionKey): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareKeys(this.entries[mid] as IndexedVersion, k) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first entry with ms >= t. */
  private firstAtOrAfter(t: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.entries[mid] as IndexedVersion).ms < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  page(q: PageQuery): Page {
    const end = Math.min(q.before, q.visibleUntil + 1);
    let i = this.firstAtOrAfter(q.since);
    if (q.after) i = Math.max(i, this.firstAfter(q.after));
    const versions: IndexedVersion[] = [];
    while (i < this.entries.length && versions.length < q.limit) {
      const v = this.entries[i] as IndexedVersion;
      if (v.ms >= end) break;
      versions.push(v);
      i++;
    }
    const following = this.entries[i];
    const more = versions.length === q.limit && following !== undefined && following.ms < end;
    const last = versions[versions.length - 1];
    return { versions, next: more && last ? { ms: last.ms, orderId: last.orderId, seq: last.seq } : null };
  }

  first(): IndexedVersion | undefined {
    return this.entries[0];
  }

  last(): IndexedVersion | undefined {
    return this.entries[this.entries.length - 1];
  }
}
