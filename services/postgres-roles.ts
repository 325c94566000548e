/**
 * Login roles of the local server. A role gets its configured password once, when it is created;
 * after that the password belongs to whoever administers the server, so one rotated with
 * `ALTER ROLE <role> PASSWORD '...'` survives every later `services up`. To rotate: run ALTER ROLE
 * as the superuser, then set the variable (URL or ANALYST_*_PASSWORD) to the new password.
 */
import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import type { Client } from 'pg';

export interface RolePlan {
  role: string;
  /** The password a new role is created with. */
  password: string;
  /** The variable the password comes from, named when the server's password differs from it. */
  source: string;
}

export interface EnsuredRoles {
  created: string[];
  /** Existing roles whose password differs from the configured one (left alone). */
  differing: Array<{ role: string; source: string }>;
}

/**
 * Pure: does `password` match a stored SCRAM-SHA-256 verifier (pg_authid.rolpassword)? null when
 * it cannot tell (no password, or an md5 hash). ASCII passwords only: SASLprep is not applied.
 */
export function scramMatches(verifier: string | null, password: string): boolean | null {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier ?? '');
  if (!m) return null;
  const [, iterations = '', salt = '', storedKey = ''] = m;
  const salted = pbkdf2Sync(password, Buffer.from(salt, 'base64'), Number(iterations), 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const expected = Buffer.from(storedKey, 'base64');
  const actual = createHash('sha256').update(clientKey).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

const DUPLICATE_OBJECT = '42710';

/** Creates each missing role with its password; an existing role keeps its password. Superuser only. */
export async function ensureRoles(admin: Client, plans: RolePlan[]): Promise<EnsuredRoles> {
  const out: EnsuredRoles = { created: [], differing: [] };
  const attributes = 'LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE';
  for (const plan of plans) {
    const ident = admin.escapeIdentifier(plan.role);
    const { rows } = await admin.query<{ rolpassword: string | null }>('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [plan.role]);
    if (rows.length === 0) {
      try {
        await admin.query(`CREATE ROLE ${ident} WITH ${attributes} PASSWORD ${admin.escapeLiteral(plan.password)}`);
        out.created.push(plan.role);
        continue;
      } catch (err) {
        // Another bootstrap created it between our check and CREATE: treat it as existing.
        if ((err as { code?: string }).code !== DUPLICATE_OBJECT) throw err;
      }
    }
    await admin.query(`ALTER ROLE ${ident} WITH ${attributes}`);
    if (rows[0] && scramMatches(rows[0].rolpassword, plan.password) === false) out.differing.push({ role: plan.role, source: plan.source });
  }
  return out;
}

/** Pure: the bootstrap's note about roles, or '' when there is nothing to say. */
export function describeRoles(result: EnsuredRoles): string {
  const notes: string[] = [];
  if (result.created.length) notes.push(`created roles ${result.created.join(', ')}`);
  for (const d of result.differing) {
    notes.push(`role ${d.role}'s password differs from the one in ${d.source}: left as it is (to rotate, ALTER ROLE ${d.role} PASSWORD '...', then put the new password in ${d.source})`);
  }
  return notes.join('; ');
}
