import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const file = join(__dirname, '..', '..', 'docker-compose.yml');

function composeCommand(): string[] {
  if (spawnSync('docker', ['compose', 'version']).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version']).status === 0) return ['docker-compose'];
  throw new Error('neither `docker compose` nor `docker-compose` is installed; scripts/test.sh installs Debian docker-compose when run as root');
}

describe('docker-compose.yml', () => {
  it('is accepted by compose config (no engine needed)', () => {
    const [cmd, ...args] = composeCommand();
    const out = execFileSync(cmd!, [...args, '-f', file, 'config', '--services'], { encoding: 'utf8' });
    // `worker` sits behind a profile, which compose v1 lists and v2 does not.
    expect(out.split('\n').filter(Boolean)).toEqual(expect.arrayContaining(['kafka', 'lake-bucket', 'minio', 'postgres', 'temporal']));
    expect(spawnSync(cmd!, [...args, '-f', file, 'config', '-q']).status).toBe(0);
  });
});
