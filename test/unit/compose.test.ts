import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const file = join(__dirname, '..', '..', 'docker-compose.yml');

function composeCommand(): string[] {
  if (spawnSync('docker', ['compose', 'version']).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version']).status === 0) return ['docker-compose'];
  throw new Error('neither `docker compose` nor `docker-compose` is installed; scripts/test.sh installs Debian docker-compose when run as root');
}

interface PublishedPort { service: string; hostIp: string | undefined; published: string }

/**
 * The published ports of `compose config` output, in either form it prints: compose v1 writes
 * `127.0.0.1:54329:5432/tcp` (or `{ published, target }` when unbound), v2 writes mappings with `host_ip`.
 */
function publishedPorts(config: string): PublishedPort[] {
  const out: PublishedPort[] = [];
  let section = '';
  let service = '';
  let portsIndent = -1;
  let item: Record<string, string> | undefined;
  const flush = () => {
    if (item) out.push({ service, hostIp: item.host_ip, published: item.published ?? '' });
    item = undefined;
  };
  for (const line of config.split('\n')) {
    const indent = line.search(/\S/);
    if (indent < 0) continue;
    const text = line.trim();
    if (portsIndent >= 0 && text.startsWith('- ') && indent >= portsIndent) {
      flush();
      const entry = text.slice(2).replace(/^["']|["']$/g, '');
      const kv = /^(\w+):\s*(.*)$/.exec(entry);
      if (kv) item = { [kv[1]!]: kv[2]!.replace(/^["']|["']$/g, '') };
      else {
        // [host_ip:]published:target[/protocol]; a bare target publishes a random port.
        const parts = entry.replace(/\/\w+$/, '').split(':');
        out.push({ service, hostIp: parts.length > 2 ? parts.slice(0, -2).join(':') : undefined, published: parts.length > 1 ? parts.at(-2)! : '' });
      }
      continue;
    }
    if (portsIndent >= 0 && item && indent > portsIndent) {
      const kv = /^(\w+):\s*(.*)$/.exec(text);
      if (kv) item[kv[1]!] = kv[2]!.replace(/^["']|["']$/g, '');
      continue;
    }
    flush();
    portsIndent = -1;
    if (indent === 0) section = text.replace(/:.*$/, '');
    else if (section === 'services' && indent === 2) service = text.replace(/:.*$/, '');
    else if (section === 'services' && text === 'ports:') portsIndent = indent;
  }
  flush();
  return out;
}

function resolvedConfig(env: Record<string, string> = {}): string {
  const [cmd, ...args] = composeCommand();
  const { ETL_BIND_ADDRESS: _ignored, ...base } = process.env;
  return execFileSync(cmd!, [...args, '-f', file, 'config'], { encoding: 'utf8', env: { ...base, ...env } });
}

describe('docker-compose.yml', () => {
  it('is accepted by compose config (no engine needed)', () => {
    const [cmd, ...args] = composeCommand();
    const out = execFileSync(cmd!, [...args, '-f', file, 'config', '--services'], { encoding: 'utf8' });
    // `worker` sits behind a profile, which compose v1 lists and v2 does not.
    expect(out.split('\n').filter(Boolean)).toEqual(expect.arrayContaining(['kafka', 'lake-bucket', 'minio', 'postgres', 'temporal']));
    expect(spawnSync(cmd!, [...args, '-f', file, 'config', '-q']).status).toBe(0);
  });

  it('publishes every port on 127.0.0.1 only by default (never on all interfaces)', () => {
    const ports = publishedPorts(resolvedConfig());
    expect(ports.map((p) => `${p.service}:${p.published}`)).toEqual(
      expect.arrayContaining(['postgres:54329', 'temporal:7233', 'temporal:8233', 'kafka:19092', 'minio:19000', 'minio:9001']),
    );
    const exposed = ports.filter((p) => p.hostIp !== '127.0.0.1').map((p) => `${p.service}:${p.published} on ${p.hostIp ?? 'all interfaces'}`);
    expect(exposed, 'ports published beyond loopback').toEqual([]);
  });

  it('has a monitoring profile (Prometheus, Grafana) whose files exist, accepted by compose config', () => {
    const [cmd, ...args] = composeCommand();
    const out = execFileSync(cmd!, [...args, '-f', file, '--profile', 'monitoring', '--profile', 'app', 'config', '--services'], { encoding: 'utf8' });
    expect(out.split('\n').filter(Boolean)).toEqual(expect.arrayContaining(['prometheus', 'grafana', 'worker']));
    const config = execFileSync(cmd!, [...args, '-f', file, '--profile', 'monitoring', 'config'], { encoding: 'utf8' });
    for (const mounted of ['docker/prometheus.yml', 'docker/grafana/provisioning', 'docker/grafana/dashboards']) {
      expect(config).toContain(join(__dirname, '..', '..', mounted));
      expect(existsSync(join(__dirname, '..', '..', mounted))).toBe(true);
    }
    const ports = publishedPorts(config).filter((p) => p.service === 'prometheus' || p.service === 'grafana');
    expect(ports.map((p) => `${p.service}:${p.published}@${p.hostIp}`).sort()).toEqual(['grafana:3000@127.0.0.1', 'prometheus:9090@127.0.0.1']);
  });

  it('publishes on another address only when ETL_BIND_ADDRESS says so', () => {
    const ports = publishedPorts(resolvedConfig({ ETL_BIND_ADDRESS: '192.0.2.10' }));
    expect(ports.length).toBeGreaterThanOrEqual(6);
    expect(new Set(ports.map((p) => p.hostIp))).toEqual(new Set(['192.0.2.10']));
  });
});
