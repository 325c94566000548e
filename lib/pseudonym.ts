/**
 * Pseudonyms for user ids: HMAC-SHA256(user_id, PSEUDONYM_KEY), hex, first 32 characters (128
 * bits). Keyed, so nobody without the key can confirm a guessed id; deterministic, so the same user
 * gets the same pseudonym in every run and joins across tables still work.
 */
import { createHmac } from 'node:crypto';

export const PSEUDONYM_HEX_CHARS = 32;

export function pseudonym(userId: string, key: string): string {
  return createHmac('sha256', key).update(userId, 'utf8').digest('hex').slice(0, PSEUDONYM_HEX_CHARS);
}
