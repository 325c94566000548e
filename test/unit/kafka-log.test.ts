import { logLevel } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { kafkaLog, kafkaLogAs } from '../../lib/clients';

describe('kafkajs log lines', () => {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void lines.push(line));
  afterEach(() => {
    lines.length = 0;
  });
  const log = kafkaLog(logLevel.INFO);
  const entry = (level: logLevel, message: string, error?: string) =>
    log({ namespace: 'Connection', level, label: 'ERROR', log: { timestamp: '', logger: 'kafkajs', message, ...(error ? { error } : {}) } });

  it('drops protocol errors kafkajs retries by itself (a fresh broker electing coordinators)', () => {
    entry(logLevel.ERROR, 'Response GroupCoordinator(key: 10, version: 2)', 'The group coordinator is not available');
    entry(logLevel.ERROR, 'Response InitProducerId(key: 22, version: 1)', 'The coordinator is not available');
    entry(logLevel.ERROR, 'Response Metadata(key: 3, version: 6)', 'This server does not host this topic-partition');
    entry(logLevel.WARN, 'Limiting retries for the idempotent producer to 5');
    expect(lines).toEqual([]);
  });

  it('keeps every other error, with its reason', () => {
    entry(logLevel.ERROR, 'Response Produce(key: 0, version: 7)', 'The request included a message larger than the max message size the server will accept');
    expect(lines).toEqual(['[kafkajs ERROR] Connection: Response Produce(key: 0, version: 7): The request included a message larger than the max message size the server will accept']);
    expect(spy).toHaveBeenCalled();
  });

  it('writes JSON lines with ETL_LOG_FORMAT=json, scrubbed', () => {
    const json = kafkaLogAs(true, (t) => t.replace('hunter2', '***'))(logLevel.INFO);
    json({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: '', logger: 'kafkajs', message: 'SASL failed for hunter2', error: 'Authentication failed' } });
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ level: 'ERROR', msg: 'Connection: SASL failed for ***: Authentication failed', component: 'kafkajs' });
  });
});
