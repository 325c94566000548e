/**
 * Apache Kafka 3.9.1 as one KRaft node (broker and controller), on the machine's Java 17. Jars
 * come from Maven Central (see kafka-jars.ts); the cluster id is generated once and kept.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Config } from '../config';
import { installOnce } from './install';
import { downloadKafkaJars, KAFKA_VERSION } from './kafka-jars';
import type { ServiceContext, ServiceDef } from './types';

/** Pure: the broker's server.properties. */
export function serverProperties(c: Pick<Config, 'ETL_KAFKA_PORT' | 'ETL_KAFKA_CONTROLLER_PORT' | 'KAFKA_EVENTS_PARTITIONS'>, logDir: string): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${c.ETL_KAFKA_CONTROLLER_PORT}`,
    `listeners=PLAINTEXT://127.0.0.1:${c.ETL_KAFKA_PORT},CONTROLLER://127.0.0.1:${c.ETL_KAFKA_CONTROLLER_PORT}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${c.ETL_KAFKA_PORT}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${logDir}`,
    `num.partitions=${c.KAFKA_EVENTS_PARTITIONS}`,
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    // Retention is applied within seconds, not the default 5 minutes, so a topic's short retention.ms
    // takes effect while a test waits (ingest-events: a stream stopped past retention). The check
    // only looks at segment timestamps; on a local broker with a few topics it costs nothing.
    'log.retention.check.interval.ms=2000',
    '',
  ].join('\n');
}

const LOG4J = [
  'log4j.rootLogger=WARN, stdout',
  'log4j.logger.kafka.server.KafkaRaftServer=INFO',
  'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
  'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
  '',
].join('\n');

function java(): string {
  const bin = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const res = spawnSync(bin, ['-version'], { encoding: 'utf8' });
  const major = /version "(\d+)/.exec(res.stderr ?? '')?.[1];
  if (res.error || !major) throw new Error(`kafka needs Java 17 (set JAVA_HOME or put java on PATH): could not run ${bin}`);
  if (Number(major) < 17) throw new Error(`kafka needs Java 17 or newer; ${bin} is Java ${major}`);
  return bin;
}

/**
 * A KRaft cluster id: 16 random bytes, URL-safe base64 without padding, never starting with '-'
 * (kafka-storage's argument parser takes such an id for an option and refuses to format; Kafka's
 * own Uuid.randomUuid draws again for the same reason). Found when a fresh clone's id began '-L-'.
 */
export function newClusterId(bytes: () => Buffer = () => randomBytes(16)): string {
  for (;;) {
    const id = bytes().toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function clusterId(dir: string): string {
  const file = path.join(dir, 'cluster-id');
  // A stored id starting with '-' never formatted anything (the format refused it): replace it.
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored && !stored.startsWith('-')) return stored;
  }
  const id = newClusterId();
  writeFileSync(file, `${id}\n`);
  return id;
}

function format(ctx: ServiceContext, javaBin: string, lib: string, props: string): void {
  if (existsSync(path.join(ctx.paths.data, 'meta.properties'))) return;
  const args = ['-cp', path.join(lib, '*'), 'kafka.tools.StorageTool', 'format', '--ignore-formatted', '-t', clusterId(ctx.paths.dir), '-c', props];
  const res = spawnSync(javaBin, args, { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`kafka storage format failed: ${(res.stderr || res.stdout).trim().split('\n').slice(-5).join(' | ')}`);
  ctx.log('formatted KRaft storage');
}

function admin(c: Config, timeoutMs: number) {
  const kafka = new Kafka({
    clientId: 'shop-etl-services',
    brokers: [`127.0.0.1:${c.ETL_KAFKA_PORT}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 3000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  return kafka.admin();
}

export const kafka: ServiceDef = {
  name: 'kafka',
  executable: 'java',
  stopSignal: 'SIGTERM',
  ports: (c: Config) => [
    { port: c.ETL_KAFKA_PORT, role: 'broker', env: 'ETL_KAFKA_PORT' },
    { port: c.ETL_KAFKA_CONTROLLER_PORT, role: 'KRaft controller', env: 'ETL_KAFKA_CONTROLLER_PORT' },
  ],
  addresses: (c: Config) => ({ broker: `127.0.0.1:${c.ETL_KAFKA_PORT}`, controller: `127.0.0.1:${c.ETL_KAFKA_CONTROLLER_PORT}` }),

  async prepare(ctx) {
    const javaBin = java();
    const home = await installOnce(ctx.cache, `kafka-${KAFKA_VERSION}`, ctx.log, async (tmp) => {
      mkdirSync(path.join(tmp, 'lib'));
      await downloadKafkaJars(path.join(tmp, 'lib'));
    });
    const lib = path.join(home, 'lib');
    const props = path.join(ctx.paths.dir, 'server.properties');
    const log4j = path.join(ctx.paths.dir, 'log4j.properties');
    mkdirSync(ctx.paths.data, { recursive: true });
    // Rewritten on every start so a port change in the environment takes effect.
    writeFileSync(props, serverProperties(ctx.config, ctx.paths.data));
    writeFileSync(log4j, LOG4J);
    format(ctx, javaBin, lib, props);
    return {
      command: javaBin,
      args: ['-Xms128m', '-Xmx512m', '-XX:+UseSerialGC', `-Dlog4j.configuration=file:${log4j}`, `-Dkafka.logs.dir=${path.join(ctx.paths.dir, 'logs')}`, '-cp', path.join(lib, '*'), 'kafka.Kafka', props],
    };
  },

  async healthy(ctx) {
    const a = admin(ctx.config, 2000);
    try {
      await a.connect();
      await a.listTopics();
      return true;
    } catch {
      return false;
    } finally {
      await a.disconnect().catch(() => undefined);
    }
  },

  async bootstrap(ctx) {
    const { KAFKA_EVENTS_TOPIC: topic, KAFKA_EVENTS_PARTITIONS: numPartitions } = ctx.config;
    const a = admin(ctx.config, 15_000);
    await a.connect();
    try {
      if ((await a.listTopics()).includes(topic)) return `topic ${topic} exists`;
      await a.createTopics({ topics: [{ topic, numPartitions, replicationFactor: 1 }], waitForLeaders: true });
      return `created topic ${topic} with ${numPartitions} partitions`;
    } finally {
      await a.disconnect();
    }
  },
};
