import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactConfig, scrubSecrets } from '../../config';

describe('configuration', () => {
  it('defaults point at the local services, so the demo needs no configuration', () => {
    const c = loadConfig({});
    expect(c.TEMPORAL_ADDRESS).toBe('127.0.0.1:7233');
    expect(c.STAGING_DATABASE_URL).toBe('postgres://etl_staging:etl_staging_dev@127.0.0.1:54329/staging');
    expect(c.KAFKA_BROKERS).toEqual(['127.0.0.1:19092']);
    expect(c.S3_ENDPOINT).toBe('http://127.0.0.1:19000');
    expect(c.S3_FORCE_PATH_STYLE).toBe(true);
  });

  it('derives default URLs from configured ports', () => {
    const c = loadConfig({ ETL_PG_PORT: '6000', ETL_KAFKA_PORT: '9999', ETL_TEMPORAL_UI_PORT: '9000' });
    expect(c.ANALYTICS_DATABASE_URL).toContain('127.0.0.1:6000/analytics');
    expect(c.KAFKA_BROKERS).toEqual(['127.0.0.1:9999']);
    expect(c.TEMPORAL_UI_URL).toBe('http://127.0.0.1:9000');
  });

  it('parses lists and booleans', () => {
    const c = loadConfig({ KAFKA_BROKERS: 'a:1, b:2', S3_FORCE_PATH_STYLE: 'false' });
    expect(c.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(c.S3_FORCE_PATH_STYLE).toBe(false);
  });

  it.each([
    ['ETL_PG_PORT', 'abc'],
    ['STAGING_DATABASE_URL', 'mysql://x'],
    ['KAFKA_BROKERS', 'no-port'],
    ['S3_BUCKET', 'Upper_Case'],
    ['ORDERS_API_URL', 'ftp://x'],
    ['LOG_LEVEL', 'loud'],
  ])('a malformed %s fails with a one-line message naming it', (name, value) => {
    let err: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain(name);
    expect(msg).not.toContain('\n');
  });

  it('never echoes a secret value in its errors', () => {
    const secret = 'short';
    try {
      loadConfig({ S3_SECRET_ACCESS_KEY: secret, PSEUDONYM_KEY: 'tiny-key' });
      expect.unreachable();
    } catch (e) {
      const msg = (e as Error).message;
      expect(msg).toContain('S3_SECRET_ACCESS_KEY');
      expect(msg).toContain('PSEUDONYM_KEY');
      expect(msg).not.toContain(secret);
      expect(msg).not.toContain('tiny-key');
    }
  });

  it('redacts secrets and URL passwords for printing', () => {
    const c = loadConfig({ ORDERS_API_TOKEN: 'token-123456789', STAGING_DATABASE_URL: 'postgres://u:pa55word@h:5432/staging' });
    const printed = JSON.stringify(redactConfig(c));
    expect(printed).not.toContain('token-123456789');
    expect(printed).not.toContain('pa55word');
    expect(printed).not.toContain(c.PSEUDONYM_KEY);
    expect(printed).toContain('postgres://u:***@h:5432/staging');
    expect(scrubSecrets('failed with pa55word and token-123456789', c)).toBe('failed with *** and ***');
  });

  it('treats the alert webhook URL as a secret (chat webhooks carry their token in the path)', () => {
    const c = loadConfig({ ALERT_WEBHOOK_URL: 'https://hooks.example.test/services/T000/B000/XYZsecret' });
    expect(JSON.stringify(redactConfig(c))).not.toContain('XYZsecret');
    expect(scrubSecrets('posting to https://hooks.example.test/services/T000/B000/XYZsecret failed', c)).not.toContain('XYZsecret');
    expect(redactConfig(loadConfig({})).ALERT_WEBHOOK_URL).toBeUndefined();
  });
});
