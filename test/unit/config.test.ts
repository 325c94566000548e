import { describe, expect, it } from 'vitest';
import { ConfigError, devPseudonymKeyWarning, isLoopbackHost, loadConfig, redactConfig, scrubSecrets } from '../../config';

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

  it('hides the analyst passwords in `etl config`, and keeps the dev defaults the tests log in with', () => {
    const c = loadConfig({ ANALYST_PASSWORD: 'analyst-s3cret', ANALYST_PII_PASSWORD: 'pii-s3cret-99' });
    const printed = JSON.stringify(redactConfig(c));
    expect(printed).not.toContain('analyst-s3cret');
    expect(printed).not.toContain('pii-s3cret-99');
    expect(scrubSecrets('login as analyst-s3cret failed', c)).toBe('login as *** failed');
    expect(loadConfig({}).ANALYST_PASSWORD).toBe('etl_analyst_dev');
    expect(loadConfig({}).ANALYST_PII_PASSWORD).toBe('etl_analyst_pii_dev');
    expect(() => loadConfig({ ANALYST_PASSWORD: 'short' })).toThrow(/ANALYST_PASSWORD/);
  });

  it('tells loopback hosts from the rest', () => {
    for (const h of ['localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1', 'LOCALHOST']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.5', 'db.example.com', 'postgres', '128.0.0.1', '127.0.0.1.nip.io']) expect(isLoopbackHost(h), h).toBe(false);
  });

  describe('the development PSEUDONYM_KEY against endpoints that are not local', () => {
    it('says nothing for the local defaults, or when a key of your own is set', () => {
      expect(devPseudonymKeyWarning(loadConfig({}))).toBeNull();
      expect(devPseudonymKeyWarning(loadConfig({ ETL_PG_PORT: '6000', KAFKA_BROKERS: 'localhost:9092' }))).toBeNull();
      expect(devPseudonymKeyWarning(loadConfig({ PSEUDONYM_KEY: 'a-real-secret-key-of-mine', S3_ENDPOINT: 'https://s3.example.com' }))).toBeNull();
    });

    it.each([
      ['ANALYTICS_DATABASE_URL', 'postgres://etl_analytics:s3cr3t@db.internal:5432/analytics', 'db.internal'],
      ['PG_ADMIN_URL', 'postgres://postgres:s3cr3t@10.0.0.7:5432/postgres', '10.0.0.7'],
      ['S3_ENDPOINT', 'https://s3.eu-west-1.amazonaws.com', 's3.eu-west-1.amazonaws.com'],
      ['KAFKA_BROKERS', '127.0.0.1:19092,kafka-2.prod:9092', 'kafka-2.prod'],
      ['TEMPORAL_ADDRESS', 'temporal.prod:7233', 'temporal.prod'],
    ])('warns when %s points at another host, naming it', (name, value, host) => {
      const warning = devPseudonymKeyWarning(loadConfig({ [name]: value }));
      expect(warning).toContain('PSEUDONYM_KEY');
      expect(warning).toContain(`${name} (${host})`);
      // The warning names hosts, never credentials.
      expect(warning).not.toContain('s3cr3t');
    });
  });
});
