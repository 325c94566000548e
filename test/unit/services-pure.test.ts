import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { jarUrl, KAFKA_JARS, parseJar } from '../../services/kafka-jars';
import { newClusterId, serverProperties } from '../../services/kafka';
import { duplicatePorts, isPortFree, portConflictMessage, portConflicts } from '../../services/ports';
import { pointsAtLocalServer, rolePassword, rolePlans } from '../../services/postgres-bootstrap';
import { describeRoles, scramMatches } from '../../services/postgres-roles';
import { scrub } from '../../services/lifecycle';
import { cmdlineMatches, isOurs, runningPid, tailFile } from '../../services/process';
import { s3Identities, s3Ports } from '../../services/s3';
import { canTraverse } from '../../services/unprivileged';

const own = { executable: 'postgres', marker: '/work/main/.run/postgres' };
const argv = (...a: string[]) => `${a.join('\0')}\0`;

describe('ownership of a pid (/proc/<pid>/cmdline)', () => {
  it('accepts our command line and rejects look-alikes', () => {
    expect(cmdlineMatches(argv('/x/native/bin/postgres', '-D', '/work/main/.run/postgres/data'), own)).toBe(true);
    expect(cmdlineMatches(argv('/usr/lib/postgresql/17/bin/postgres', '-D', '/var/lib/postgresql/data'), own)).toBe(false);
    expect(cmdlineMatches(argv('/usr/bin/vim', '/work/main/.run/postgres/data/postgresql.conf'), own)).toBe(false);
    expect(cmdlineMatches(argv('/x/postgres', '-D', '/work/main/.run/postgres-old/data'), own)).toBe(false);
    expect(cmdlineMatches(argv('postgres: checkpointer'), own)).toBe(false);
    expect(cmdlineMatches('', own)).toBe(false);
  });

  it('finds a marker inside a -Dflag=value argument (kafka, weed)', () => {
    const k = { executable: 'java', marker: '/h/.run/kafka' };
    expect(cmdlineMatches(argv('java', '-Dlog4j.configuration=file:/h/.run/kafka/log4j.properties', 'kafka.Kafka', '/h/.run/kafka/server.properties'), k)).toBe(true);
  });

  it('treats a pid file pointing at a foreign live process as stale and removes it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'svc-'));
    const pidFile = path.join(dir, 'x.pid');
    writeFileSync(pidFile, `${process.pid}\n`);
    expect(isOurs(process.pid, { executable: 'postgres', marker: dir })).toBe(false);
    expect(runningPid(pidFile, { executable: 'postgres', marker: dir })).toBeUndefined();
    expect(runningPid(pidFile, { executable: 'postgres', marker: dir })).toBeUndefined();
  });

  it('recognises a real child by its command line, and not once it has exited', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'svc-'));
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', path.join(dir, 'x.conf')], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 200));
    const pid = child.pid as number;
    expect(isOurs(pid, { executable: path.basename(process.execPath), marker: dir })).toBe(true);
    expect(isOurs(pid, { executable: path.basename(process.execPath), marker: `${dir}-other` })).toBe(false);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill();
    await exited;
    expect(isOurs(pid, { executable: path.basename(process.execPath), marker: dir })).toBe(false);
  });
});

describe('ports', () => {
  it('names the port, the service and the variable that moves it', () => {
    const msg = portConflictMessage('postgres', [{ port: 54329, role: 'PostgreSQL', env: 'ETL_PG_PORT' }]);
    expect(msg).toContain('54329');
    expect(msg).toContain('postgres');
    expect(msg).toContain('ETL_PG_PORT=');
  });

  it('points derived S3 ports at ETL_S3_PORT', () => {
    const msg = portConflictMessage('s3', s3Ports(19000).slice(1, 3));
    expect(msg).toMatch(/19001 \(seaweedfs master, ETL_S3_PORT\+1\)/);
    expect(msg).toContain('ETL_S3_PORT=<port>');
  });

  it('detects a port in use and reports it', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    expect(await isPortFree(port)).toBe(false);
    const [msg] = await portConflicts('kafka', [{ port, role: 'broker', env: 'ETL_KAFKA_PORT' }]);
    expect(msg).toContain(`port ${port}`);
    await new Promise((r) => server.close(r));
    expect(await isPortFree(port)).toBe(true);
  });

  it('the default layout has no port used twice, and a clash is reported', () => {
    const c = loadConfig({});
    const all = [
      { service: 'postgres' as const, spec: { port: c.ETL_PG_PORT, role: 'pg', env: 'ETL_PG_PORT' } },
      ...s3Ports(c.ETL_S3_PORT).map((spec) => ({ service: 's3' as const, spec })),
      { service: 'kafka' as const, spec: { port: c.ETL_KAFKA_PORT, role: 'broker', env: 'ETL_KAFKA_PORT' } },
    ];
    expect(duplicatePorts(all)).toEqual([]);
    expect(duplicatePorts([...all, { service: 'kafka', spec: { port: 19001, role: 'broker', env: 'ETL_KAFKA_PORT' } }])[0]).toContain('19001');
  });
});

describe('kafka', () => {
  it('builds Maven Central URLs from coordinates', () => {
    const jar = parseJar('com.fasterxml.jackson.core:jackson-core:2.16.2 b4f588bf070f77b604c645a7d60b71eae2e6ea09');
    expect(jarUrl(jar)).toBe('https://repo1.maven.org/maven2/com/fasterxml/jackson/core/jackson-core/2.16.2/jackson-core-2.16.2.jar');
    expect(() => parseJar('not a jar')).toThrow(/bad jar line/);
  });

  it('pins a 3.x broker (kafkajs 2.2.4 cannot talk to 4.x) and a sha1 for every jar', () => {
    const jars = KAFKA_JARS.map(parseJar);
    expect(jars.find((j) => j.artifact === 'kafka_2.13')?.version).toBe('3.9.1');
    expect(new Set(jars.map((j) => `${j.artifact}-${j.version}.jar`)).size).toBe(jars.length);
  });

  it('writes a KRaft single-node config on the configured ports', () => {
    const props = serverProperties({ ETL_KAFKA_PORT: 1, ETL_KAFKA_CONTROLLER_PORT: 2, KAFKA_EVENTS_PARTITIONS: 3 }, '/d');
    expect(props).toContain('listeners=PLAINTEXT://127.0.0.1:1,CONTROLLER://127.0.0.1:2');
    expect(props).toContain('controller.quorum.voters=1@127.0.0.1:2');
  });
});

describe('postgres bootstrap and s3 identities', () => {
  it('bootstraps only a server we run', () => {
    expect(pointsAtLocalServer('postgres://a:b@127.0.0.1:54329/x', 54329)).toBe(true);
    expect(pointsAtLocalServer('postgres://a:b@db.example.com:54329/x', 54329)).toBe(false);
    expect(pointsAtLocalServer('postgres://a:b@localhost:5432/x', 54329)).toBe(false);
  });

  it('takes role passwords from the configured URLs', () => {
    expect(rolePassword({ role: 'etl_staging', url: 'postgres://etl_staging:s%40cret@127.0.0.1:1/staging' })).toBe('s@cret');
    expect(rolePassword({ role: 'etl_analyst' })).toBe('etl_analyst_dev');
    expect(rolePassword({ role: 'etl_analyst', url: 'postgres://someone:x@h:1/d' })).toBe('etl_analyst_dev');
  });

  it('creates the analyst roles with ANALYST_PASSWORD and ANALYST_PII_PASSWORD, the dev passwords by default', () => {
    const password = (c: ReturnType<typeof loadConfig>, role: string) => rolePlans(c).find((p) => p.role === role)?.password;
    expect(password(loadConfig({}), 'etl_analyst')).toBe('etl_analyst_dev');
    expect(password(loadConfig({}), 'etl_analyst_pii')).toBe('etl_analyst_pii_dev');
    const c = loadConfig({ ANALYST_PASSWORD: 'analyst-secret', ANALYST_PII_PASSWORD: 'pii-secret-1', STAGING_DATABASE_URL: 'postgres://etl_staging:st4ging@127.0.0.1:54329/staging' });
    expect(password(c, 'etl_analyst')).toBe('analyst-secret');
    expect(password(c, 'etl_analyst_pii')).toBe('pii-secret-1');
    expect(rolePlans(c).find((p) => p.role === 'etl_staging')).toEqual({ role: 'etl_staging', password: 'st4ging', source: 'STAGING_DATABASE_URL' });
    expect(rolePlans(c).map((p) => p.role)).toEqual(['etl_staging', 'etl_analytics', 'shop_owner', 'etl_shop_reader', 'etl_analyst', 'etl_analyst_pii']);
  });

  it('checks a password against a SCRAM-SHA-256 verifier made by PostgreSQL 17', () => {
    // pg_authid.rolpassword of etl_analyst after `CREATE ROLE ... PASSWORD 'etl_analyst_dev'`.
    const verifier = 'SCRAM-SHA-256$4096:4Fwd2er7sA4PExJH6FrjUA==$VDBHg/dgNQsMsNtCwsqLEo18KHjKwkGGrIyn0t5Fs3Y=:N0wTAqmIXeQeo1s8/Sk5Yjy8uoFA4BONhISjn3uJ1b8=';
    expect(scramMatches(verifier, 'etl_analyst_dev')).toBe(true);
    expect(scramMatches(verifier, 'etl_analyst_pii_dev')).toBe(false);
    expect(scramMatches(null, 'x')).toBeNull();
    expect(scramMatches('md5c0ffee', 'x')).toBeNull();
  });

  it('names the variable to update when a role kept a rotated password', () => {
    expect(describeRoles({ created: [], differing: [] })).toBe('');
    const note = describeRoles({ created: ['etl_analyst'], differing: [{ role: 'etl_staging', source: 'STAGING_DATABASE_URL' }] });
    expect(note).toContain('created roles etl_analyst');
    expect(note).toMatch(/etl_staging's password differs .*left as it is.*ALTER ROLE etl_staging.*in STAGING_DATABASE_URL/);
  });

  it('writes only the configured S3 credentials', () => {
    const doc = JSON.parse(s3Identities({ S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 'secret-123' })) as { identities: Array<{ credentials: unknown[] }> };
    expect(doc.identities).toHaveLength(1);
    expect(doc.identities[0]?.credentials).toEqual([{ accessKey: 'k', secretKey: 'secret-123' }]);
  });

  it('checks that nobody can traverse the data folder parents', () => {
    const nobody = { name: 'nobody', uid: 65534, gid: 65534 };
    expect(canTraverse({ uid: 0, gid: 0, mode: 0o40755 }, nobody)).toBe(true);
    expect(canTraverse({ uid: 0, gid: 0, mode: 0o40700 }, nobody)).toBe(false);
    expect(canTraverse({ uid: 65534, gid: 0, mode: 0o40700 }, nobody)).toBe(true);
  });
});

describe('log tail', () => {
  it('returns the last lines', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'svc-')), 'x.log');
    writeFileSync(file, Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n');
    expect(tailFile(file, 3)).toBe('line 97\nline 98\nline 99');
    expect(tailFile(`${file}.missing`, 3)).toBe('');
  });
});

describe('secrets in failure output', () => {
  it('hides configured secrets but keeps the public local superuser readable', () => {
    const config = loadConfig({ S3_SECRET_ACCESS_KEY: 'very-secret-key' });
    const out = scrub('postgres: FATAL in postgresql.auto.conf; s3 key very-secret-key; pw etl_staging_dev', config);
    expect(out).toBe('postgres: FATAL in postgresql.auto.conf; s3 key ***; pw ***');
  });

describe('KRaft cluster id', () => {
  it('never starts with "-", which kafka-storage would read as an option', () => {
    const draws = [Buffer.from('f82d2d00000000000000000000000000', 'hex'), Buffer.from('00112233445566778899aabbccddeeff', 'hex')];
    expect(draws[0]!.toString('base64url').startsWith('-')).toBe(true);
    expect(newClusterId(() => draws.shift()!)).toBe('ABEiM0RVZneImaq7zN3u_w');
    for (let i = 0; i < 2000; i++) expect(newClusterId()).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});
});
