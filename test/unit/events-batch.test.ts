import { ApplicationFailure } from '@temporalio/common';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { beforeBreak, takeFair } from '../../activities/events/reader';
import { kafkaDt, lostAlert, STUCK_ALERT_ATTEMPT, stuckRangeAlert, type FailedRange } from '../../activities/events';
import { lostBefore, StaleOffsetsError } from '../../activities/events/load';
import { rawMessages, rawMessageValue } from '../../activities/common/raw';

const lines = (object: Buffer): Buffer[] => {
  const out: Buffer[] = [];
  for (let at = 0; at < object.length;) {
    const nl = object.indexOf(0x0a, at);
    out.push(object.subarray(at, nl));
    at = nl + 1;
  }
  return out;
};

describe('rawMessages', () => {
  const values = [
    Buffer.from('{"event_id":"E1"}'), Buffer.from('{\n  "event_id": "E2"\n}'), Buffer.from([0xff, 0x00, 0x0a, 0x41]),
    null, Buffer.alloc(0), Buffer.from('#base64:notreally'), Buffer.from('a\rb'), Buffer.from('{"x":"\u0000é"}'),
  ];

  it('writes single-line UTF-8 values as they are, one line each', () => {
    const text = rawMessages([Buffer.from('{"a":1}'), Buffer.from('not json')]).toString('utf8');
    expect(text).toBe('{"a":1}\nnot json\n');
  });

  it('frames every other value so each line gives its message back byte for byte', () => {
    const object = rawMessages(values);
    const got = lines(object);
    expect(got).toHaveLength(values.length);
    got.forEach((line, i) => expect(rawMessageValue(line), `line ${i}`).toEqual(values[i]));
    expect(object.toString('utf8').split('\n')[1]).toMatch(/^#base64:/);
    expect(object.toString('utf8').split('\n')[3]).toBe('#null');
  });

  it('builds large objects from Buffers (no string of the whole)', () => {
    const big = Buffer.alloc(3 << 20, 0x61);
    const object = rawMessages(Array.from({ length: 40 }, () => big));
    expect(object.length).toBe(40 * (big.length + 1));
  });
});

describe('kafkaDt', () => {
  it('is the Kafka timestamp\'s UTC date, held to 1970..9999', () => {
    expect(kafkaDt(String(Date.UTC(2024, 2, 1, 23, 59)))).toBe('2024-03-01');
    expect(kafkaDt('253402300800000')).toBe('9999-12-31'); // 10000-01-01
    expect(kafkaDt('99999999999999999999')).toBe('9999-12-31');
    expect(kafkaDt('-1')).toBe('1970-01-01');
    expect(kafkaDt('nonsense')).toBe('1970-01-01');
  });
});

describe('stuckRangeAlert', () => {
  const range: FailedRange = { group: 'g', topic: 't', partition: 2, firstOffset: '100', lastOffset: '250', error: new RangeError('Maximum call stack size exceeded') };
  const at = (attempt: number) => ({ attempt, workflowId: 'events/stream', runId: 'r1' });
  const long = { ms: 45_000, stuckAfterMs: 30_000 };

  it('stays quiet for the first attempts of a transient error, then names the partition, offsets and error', () => {
    for (let a = 1; a < STUCK_ALERT_ATTEMPT; a++) expect(stuckRangeAlert(range, at(a), long)).toBeNull();
    const alert = stuckRangeAlert(range, at(STUCK_ALERT_ATTEMPT), long);
    expect(alert).toMatchObject({ alertId: 'events/stuck/g/t/2@100', pipeline: 'events', kind: 'failed', workflowId: 'events/stream', runId: 'r1' });
    expect(alert?.message).toMatch(/partition 2, offsets 100-250/);
    expect(alert?.message).toMatch(/RangeError: Maximum call stack size exceeded/);
    expect(alert?.message).toMatch(/failing for 45 s/);
  });

  it('stays quiet however many attempts fail while the range has been failing for less than the threshold', () => {
    // A PostgreSQL restart of a few seconds: the retries come 1 s, 2 s, 4 s apart and reach attempt 5.
    for (const a of [3, 5, 10]) expect(stuckRangeAlert(range, at(a), { ms: 29_999, stuckAfterMs: 30_000 })).toBeNull();
    expect(stuckRangeAlert(range, at(5), { ms: 30_000, stuckAfterMs: 30_000 })).not.toBeNull();
    expect(stuckRangeAlert(range, at(2), { ms: 600_000, stuckAfterMs: 30_000 })).toBeNull();
  });

  it('keeps one id per (group, topic, partition, first offset) across attempts and last offsets', () => {
    const a = stuckRangeAlert(range, at(3), long);
    const b = stuckRangeAlert({ ...range, lastOffset: '999', error: new Error('other') }, at(40), long);
    expect(b?.alertId).toBe(a?.alertId);
    expect(stuckRangeAlert({ ...range, firstOffset: '251' }, at(3), long)?.alertId).not.toBe(a?.alertId);
  });

  it('alerts a permanent error at once, never a lost race with another attempt', () => {
    expect(stuckRangeAlert({ ...range, error: ApplicationFailure.nonRetryable('bad', 'BadData') }, at(1), { ms: 0, stuckAfterMs: 30_000 })?.message).toMatch(/permanent/);
    expect(stuckRangeAlert({ ...range, error: Object.assign(new Error('numeric field overflow'), { code: '22003' }) }, at(1), { ms: 0, stuckAfterMs: 30_000 })).not.toBeNull();
    expect(stuckRangeAlert({ ...range, error: new StaleOffsetsError('moved') }, at(10), long)).toBeNull();
  });

  it('keeps NUL out of the message and the error short', () => {
    const m = stuckRangeAlert({ ...range, error: new Error(`bad\u0000${'x'.repeat(10_000)}`) }, at(5), long)?.message ?? '';
    expect(m).not.toContain('\u0000');
    expect(m.length).toBeLessThan(2000);
  });
});

describe('lostBefore', () => {
  it('counts the offsets below the log start between the stored offset and the range', () => {
    expect(lostBefore(20n, 45n, 45n)).toEqual({ from: '20', to: '45', count: 25 });
    // The log start moved on past the range after it was read: only what was before the range is lost.
    expect(lostBefore(20n, 45n, 60n)).toEqual({ from: '20', to: '45', count: 25 });
  });

  it('is no loss when the range starts where it was read, or the gap is above the log start (compaction, markers)', () => {
    expect(lostBefore(20n, 20n, 0n)).toBeNull();
    expect(lostBefore(20n, 23n, 5n)).toBeNull();
    expect(lostBefore(20n, 23n, 20n)).toBeNull();
    expect(lostBefore(undefined, 23n, 23n)).toBeNull(); // a new group starts at the log start by design
    expect(lostBefore(20n, 30n, 25n)).toEqual({ from: '20', to: '25', count: 5 });
  });

  it('needs the log start to judge a gap', () => {
    expect(() => lostBefore(20n, 23n, undefined)).toThrow(/log start is needed/);
  });

  it('names the group, the partition, the last lost offset and the count in the alert', () => {
    const a = lostAlert({ group: 'g', topic: 't', partition: 2, loadId: 'events/t/2:45-50', from: '20', to: '45', count: 25 }, { attempt: 1, workflowId: 'w', runId: 'r' });
    expect(a).toMatchObject({ alertId: 'events/t/2:45-50/data_lost', kind: 'data_lost', pipeline: 'events', workflowId: 'w' });
    expect(a.message).toContain('group g lost 25 messages of topic t partition 2, offsets 20-44');
  });
});

describe('beforeBreak', () => {
  const at = (...offsets: number[]) => offsets.map((o) => ({ offset: String(o), value: Buffer.alloc(1), timestamp: '0' }) as unknown as KafkaMessage);
  const offs = (ms: readonly KafkaMessage[]) => ms.map((m) => Number(m.offset));

  it('a batch never spans a break: messages buffered before retention deleted the next ones, then those after the log start', () => {
    const buf = at(20, 21, 22, 45, 46);
    const breaks = [45n];
    expect(offs(beforeBreak(buf, breaks))).toEqual([20, 21, 22]);
    expect(breaks).toEqual([45n]);
    // Once the range before it is loaded, the buffer starts at the break: it is used up, the rest is taken.
    expect(offs(beforeBreak(buf.slice(3), breaks))).toEqual([45, 46]);
    expect(breaks).toEqual([]);
  });

  it('takes up to the next of several breaks, and everything without one', () => {
    const breaks = [45n, 90n];
    expect(offs(beforeBreak(at(45, 46, 90, 91), breaks))).toEqual([45, 46]);
    expect(breaks).toEqual([90n]);
    expect(offs(beforeBreak(at(1, 2, 3), []))).toEqual([1, 2, 3]);
    expect(offs(beforeBreak([], [7n]))).toEqual([]);
  });
});

describe('takeFair', () => {
  const msgs = (sizes: number[], start = 0): KafkaMessage[] =>
    sizes.map((s, i) => ({ offset: String(start + i), value: Buffer.alloc(s), timestamp: '0', key: null, attributes: 0, headers: {} }) as unknown as KafkaMessage);
  const offsets = (out: ReturnType<typeof takeFair>) => out.map((m) => `${m.partition}@${m.offset}`);

  it('takes by count as before when bytes are unbounded', () => {
    const out = takeFair(new Map([[0, msgs([1, 1, 1, 1])], [1, msgs([1])]]), 4);
    expect(offsets(out)).toEqual(['0@0', '0@1', '1@0', '0@2']);
  });

  it('stops at maxBytes, each partition a prefix of its buffer', () => {
    const out = takeFair(new Map([[0, msgs([10, 10, 10, 10])], [1, msgs([10, 10, 10])]]), 100, 45);
    expect(out.reduce((n, m) => n + (m.value?.length ?? 0), 0)).toBeLessThanOrEqual(45);
    expect(offsets(out)).toEqual(['0@0', '0@1', '1@0', '1@1']);
  });

  it('always takes a partition\'s first message, however large', () => {
    const out = takeFair(new Map([[0, msgs([5, 5])], [1, msgs([2000, 5])], [2, msgs([3000])]]), 100, 100);
    expect(offsets(out)).toEqual(['0@0', '0@1', '1@0', '2@0']);
    expect(offsets(takeFair(new Map([[0, msgs([2000, 1])]]), 10, 100))).toEqual(['0@0']);
  });
});
