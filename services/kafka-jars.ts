/**
 * The runtime classpath of Apache Kafka 3.9.1 (the broker, KRaft mode) plus an slf4j binding,
 * resolved once with Maven from org.apache.kafka:kafka_2.13:3.9.1 and
 * org.slf4j:slf4j-reload4j:1.7.36 (`mvn dependency:list -DincludeScope=runtime`), so users need
 * no Maven. Kafka 4.x is out: kafkajs 2.2.4 cannot talk to it. Each entry is
 * `group:artifact:version sha1`; the sha1 is pinned here and checked after download.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export const KAFKA_VERSION = '3.9.1';
export const MAVEN_CENTRAL = 'https://repo1.maven.org/maven2';

export const KAFKA_JARS = `
ch.qos.reload4j:reload4j:1.2.19 4eae9978468c5e885a6fb44df7e2bbc07a20e6ce
com.fasterxml.jackson.core:jackson-annotations:2.16.2 dfcd11c847ea7276aa073c25f5fe8ee361748d7f
com.fasterxml.jackson.core:jackson-core:2.16.2 b4f588bf070f77b604c645a7d60b71eae2e6ea09
com.fasterxml.jackson.core:jackson-databind:2.16.2 7fda67535b54d74eebf6157682b835c847410932
com.fasterxml.jackson.dataformat:jackson-dataformat-csv:2.16.2 589c61739a773f581845d3505622007f26b38c2a
com.fasterxml.jackson.datatype:jackson-datatype-jdk8:2.16.2 02c3593b299fcd1a6b8197876f95da82d7aa7340
com.fasterxml.jackson.module:jackson-module-scala_2.13:2.16.2 c16b5aa1cbcf5efae84cba582591bed8b3356765
com.github.ben-manes.caffeine:caffeine:2.9.3 b162491f768824d21487551873f9b3b374a7fe19
com.github.luben:zstd-jni:1.5.6-4 ba9e303e0b5e94cdd0017390d7d8c06f47fd61f7
com.google.errorprone:error_prone_annotations:2.10.0 9bc20b94d3ac42489cf6ce1e42509c86f6f861a1
com.thoughtworks.paranamer:paranamer:2.8 619eba74c19ccf1da8ebec97a2d7f8ba05773dd6
com.typesafe.scala-logging:scala-logging_2.13:3.9.5 d5a0f61168371d8cff1c510f55407aa46bea8366
com.yammer.metrics:metrics-core:2.2.0 f82c035cfa786d3cbec362c38c22a5f5b1bc8724
commons-beanutils:commons-beanutils:1.9.4 d52b9abcd97f38c81342bb7e7ae1eee9b73cba51
commons-cli:commons-cli:1.4 c51c00206bb913cd8612b24abd9fa98ae89719b1
commons-collections:commons-collections:3.2.2 8ad72fe39fa8c91eaaf12aadb21e0c3661fe26d5
commons-digester:commons-digester:2.1 73a8001e7a54a255eef0f03521ec1805dc738ca0
commons-io:commons-io:2.14.0 a4c6e1f6c196339473cd2e1b037f0eb97c62755b
commons-logging:commons-logging:1.2 4bfc12adfe4842bf07b657f0369c4cb522955686
commons-validator:commons-validator:1.7 76069c915de3787f3ddd8726a56f47a95bfcbb0e
io.dropwizard.metrics:metrics-core:4.1.12.1 cb2f351bf4463751201f43bb99865235d5ba07ca
io.netty:netty-buffer:4.1.105.Final c1c1b4d2c89d2f74c80a2701c124ecfde1ecf067
io.netty:netty-codec:4.1.105.Final 4733830b4b2b9111e9bf8136691d07b20027cd51
io.netty:netty-common:4.1.105.Final 8438fc1de4c10301bb53ceb49ed8db74bd40cc2c
io.netty:netty-handler:4.1.105.Final 7e997e63d0a445c4b352bcd38474d50f06f2eaf1
io.netty:netty-resolver:4.1.105.Final e69687e013ded60f3f9054164e121c2702200711
io.netty:netty-transport-classes-epoll:4.1.105.Final e006d3b0cfd5b8133c9fcebfa05d9ae80a721e80
io.netty:netty-transport-native-epoll:4.1.105.Final cb57e2ef48fe68ca5a90ffd456c4b36147bdd175
io.netty:netty-transport-native-unix-common:4.1.105.Final 8bb8ab3a8f1e730c6e7d1d1cf8fc24221eacc6cd
io.netty:netty-transport:4.1.105.Final 5184e1308ed7d853d7061b4e21e47e8de43a28df
net.sf.jopt-simple:jopt-simple:5.0.4 4fdac2fbe92dfad86aa6e9301736f6b4342a3f5c
net.sourceforge.argparse4j:argparse4j:0.7.0 6f0621d0c3888de39e0f06d01f37ba53a798e657
org.apache.kafka:kafka-clients:3.9.1 86ca079953ed5606257ff298c24666b26da6985b
org.apache.kafka:kafka-group-coordinator-api:3.9.1 4f90e77bae45b5a9f4571f7f24b6a71510255526
org.apache.kafka:kafka-group-coordinator:3.9.1 b8b0284102248d466ee1df04d412832100edc67b
org.apache.kafka:kafka-metadata:3.9.1 a5875f00903c7fd25a8ca51ebc51a4883aaa5682
org.apache.kafka:kafka-raft:3.9.1 6ff623be57743da37ac7df6e0ef01c0508f15d4a
org.apache.kafka:kafka-server-common:3.9.1 529c5b2cf2f047136a68b5f9e107dbde1ec69d7b
org.apache.kafka:kafka-server:3.9.1 62f5d1c40ec9a7eef1b6cbd9b1fadbc2b3024cbf
org.apache.kafka:kafka-storage-api:3.9.1 214d034ff9412e3357d27f251dbb38510c6ba062
org.apache.kafka:kafka-storage:3.9.1 e6def675771e5f07fd4ded7d9e55b91ce9372518
org.apache.kafka:kafka-tools-api:3.9.1 cf141878a00601b826fa771e2630c400c7f3ff75
org.apache.kafka:kafka-transaction-coordinator:3.9.1 385f78f00961bb766332b7bc64dbb13dfb829714
org.apache.kafka:kafka_2.13:3.9.1 c940303cc9bd1a92f4eced9404656f6f374f6e65
org.apache.yetus:audience-annotations:0.12.0 e0efa60318229590103e31c69ebdaae56d903644
org.apache.zookeeper:zookeeper-jute:3.8.4 de7b8a41bbe1ccdfc009de51fa6d160db3ca8025
org.apache.zookeeper:zookeeper:3.8.4 6638e37b887b5a279044afbdc9928e19f678eb2e
org.bitbucket.b_c:jose4j:0.9.4 7efe6ccf593e52a2b77f98de52238f15b4a67188
org.lz4:lz4-java:1.8.0 4b986a99445e49ea5fbf5d149c4b63f6ed6c6780
org.pcollections:pcollections:4.0.1 059f3bf5fb28c5f5386804dcf129267416b75d7c
org.scala-lang.modules:scala-collection-compat_2.13:2.10.0 2464528d14329ff2b44bceff918d6c00300adcf4
org.scala-lang.modules:scala-java8-compat_2.13:1.0.2 5b54f60ccf03e41e24c466462a72475ee918c304
org.scala-lang:scala-library:2.13.15 ed6f1d58968b16c5f9067d5cac032d952552de58
org.scala-lang:scala-reflect:2.13.15 355927b10366563a8f1b56c1f34ff376f2f7c8c5
org.slf4j:slf4j-api:1.7.36 6c62681a2f655b49963a5983b8b0950a6120ae14
org.slf4j:slf4j-reload4j:1.7.36 db708f7d959dee1857ac524636e85ecf2e1781c1
org.xerial.snappy:snappy-java:1.1.10.5 ac605269f3598506196e469f1fb0d7ed5c55059e
`.trim().split('\n');

export interface Jar {
  group: string;
  artifact: string;
  version: string;
  sha1: string;
}

/** Pure: parses one `group:artifact:version sha1` line. */
export function parseJar(line: string): Jar {
  const m = /^([\w.-]+):([\w.-]+):([\w.-]+)\s+([0-9a-f]{40})$/.exec(line.trim());
  if (!m) throw new Error(`bad jar line: ${line}`);
  return { group: m[1] as string, artifact: m[2] as string, version: m[3] as string, sha1: m[4] as string };
}

/** Pure: the Maven Central URL of a jar (repository layout: group dots become slashes). */
export function jarUrl(jar: Jar, repo = MAVEN_CENTRAL): string {
  return `${repo}/${jar.group.replace(/\./g, '/')}/${jar.artifact}/${jar.version}/${jar.artifact}-${jar.version}.jar`;
}

export function jarFileName(jar: Jar): string {
  // Two artifacts named metrics-core exist (yammer and dropwizard); their versions differ.
  return `${jar.artifact}-${jar.version}.jar`;
}

async function fetchJar(jar: Jar, dir: string): Promise<void> {
  const url = jarUrl(jar);
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = Buffer.from(await res.arrayBuffer());
      const sha1 = createHash('sha1').update(body).digest('hex');
      if (sha1 !== jar.sha1) throw new Error(`sha1 ${sha1} does not match the pinned ${jar.sha1}`);
      writeFileSync(path.join(dir, jarFileName(jar)), body);
      return;
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(`could not download ${url}: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
}

/** Downloads every jar into `dir`, eight at a time. */
export async function downloadKafkaJars(dir: string, concurrency = 8): Promise<void> {
  const queue = KAFKA_JARS.map(parseJar);
  const worker = async () => {
    for (let jar = queue.shift(); jar; jar = queue.shift()) await fetchJar(jar, dir);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
