import { describe, expect, it } from 'vitest';
import { rawCopyHeaders, RAW_SOURCE_META } from '../../activities/files';
import { parseEventsRawName } from '../../activities/rebuild';

describe('rebuild from raw: names and metadata', () => {
  it('reads an events range name, topics with dashes and dots included', () => {
    expect(parseEventsRawName('shop.events-p2-100-1539.jsonl')).toEqual({ topic: 'shop.events', partition: 2, first: 100n, last: 1539n });
    expect(parseEventsRawName('test.pipe-lines.x-p0-0-4.jsonl')).toEqual({ topic: 'test.pipe-lines.x', partition: 0, first: 0n, last: 4n });
    expect(parseEventsRawName('orders_page-1.json')).toBeNull();
  });

  it('keeps the dropped object\'s headers and adds where it came from, unless that passes the 2 KB metadata limit', () => {
    const file = { key: 'drop/purchases/a b.csv', etag: 'abc', size: 1, lastModified: '2026-12-01T00:00:00.000Z' };
    const h = rawCopyHeaders(file, { ContentType: 'text/csv', ContentEncoding: 'gzip', Metadata: { owner: 'shop' } });
    expect(h).toMatchObject({ MetadataDirective: 'REPLACE', ContentType: 'text/csv', ContentEncoding: 'gzip' });
    expect(h.Metadata).toEqual({ owner: 'shop', [RAW_SOURCE_META.key]: 'drop%2Fpurchases%2Fa%20b.csv', [RAW_SOURCE_META.etag]: 'abc', [RAW_SOURCE_META.lastModified]: file.lastModified });
    const long = rawCopyHeaders({ ...file, key: `drop/purchases/${'ü'.repeat(400)}.csv` }, { Metadata: { owner: 'shop' } });
    expect(long.Metadata).toEqual({ owner: 'shop' });
  });
});
