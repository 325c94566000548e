import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Hour buckets on disk for records dated in the future (order status changes, returns days after
 * the order). Keeping them in memory would grow with scale x lifecycle length; on disk, the generator
 * only ever holds the current hour.
 */
export class Spill {
  private readonly pending = new Map<number, string[]>();
  private pendingSize = 0;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private path(hour: number): string {
    return join(this.dir, `h${hour}.jsonl`);
  }

  put(hour: number, record: unknown): void {
    const line = JSON.stringify(record) + '\n';
    const list = this.pending.get(hour);
    if (list) list.push(line);
    else this.pending.set(hour, [line]);
    this.pendingSize += line.length;
    if (this.pendingSize > 8_000_000) this.flushAll();
  }

  private flushAll(): void {
    for (const [hour, lines] of this.pending) appendFileSync(this.path(hour), lines.join(''));
    this.pending.clear();
    this.pendingSize = 0;
  }

  /** Everything spilled for `hour`, in the order it was put. */
  take<T>(hour: number): T[] {
    const mem = this.pending.get(hour) ?? [];
    this.pending.delete(hour);
    for (const l of mem) this.pendingSize -= l.length;
    const file = this.path(hour);
    const disk = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (disk) rmSync(file);
    return (disk + mem.join('')).split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as T);
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
