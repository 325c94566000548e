/**
 * Role passwords belong to whoever administers the server once a role exists: `services up` creates
 * roles with the configured passwords but never overwrites one rotated with ALTER ROLE. The rotation
 * itself is tried on a throwaway role, so other test files logging in as the real roles never see
 * a changed password.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config';
import { bootstrapDatabases, rolePlans } from '../../services/postgres-bootstrap';
import { ensureRoles } from '../../services/postgres-roles';

const config = loadConfig();

function urlAs(role: string, password: string, db: string): string {
  const u = new URL(config.PG_ADMIN_URL);
  u.username = role;
  u.password = password;
  u.pathname = `/${db}`;
  return u.toString();
}

async function canLogIn(role: string, password: string): Promise<boolean> {
  const c = new Client({ connectionString: urlAs(role, password, 'postgres') });
  try {
    await c.connect();
    await c.query('select 1');
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '28P01') return false; // invalid_password
    throw err;
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe('role passwords survive the bootstrap', () => {
  const admin = new Client({ connectionString: config.PG_ADMIN_URL });
  const verifiers = async (roles: string[]) =>
    (await admin.query<{ rolname: string; rolpassword: string | null }>('select rolname, rolpassword from pg_authid where rolname = any($1) order by rolname', [roles])).rows;
  beforeAll(async () => admin.connect());
  afterAll(async () => admin.end());

  it('creates a missing role with its password, and keeps a password changed with ALTER ROLE', async () => {
    const role = `etl_test_pw_${randomUUID().slice(0, 8)}`;
    const plan = { role, password: 'first-password', source: 'TEST_PASSWORD' };
    try {
      expect((await ensureRoles(admin, [plan])).created).toEqual([role]);
      await admin.query(`grant connect on database postgres to ${role}`);
      expect(await canLogIn(role, 'first-password')).toBe(true);

      await admin.query(`alter role ${role} password 'rotated-password'`);
      const again = await ensureRoles(admin, [plan]);
      expect(again.created).toEqual([]);
      expect(again.differing).toEqual([{ role, source: 'TEST_PASSWORD' }]);
      expect(await canLogIn(role, 'rotated-password')).toBe(true);
      expect(await canLogIn(role, 'first-password')).toBe(false);
    } finally {
      await admin.query(`revoke connect on database postgres from ${role}`).catch(() => undefined);
      await admin.query(`drop role if exists ${role}`);
    }
  });

  it('leaves the stored password of every existing role untouched (a re-set would change the SCRAM salt)', async () => {
    const roles = rolePlans(config).map((p) => p.role);
    const before = await verifiers(roles);
    expect(before).toHaveLength(roles.length);
    const note = await bootstrapDatabases(config);
    expect(await verifiers(roles)).toEqual(before);
    // The configured (default) passwords are the ones on the server, so nothing is reported as differing.
    expect(note).not.toContain('password differs');
  });
});
