/**
 * Pseudonyms for user ids: HMAC-SHA256(user_id, PSEUDONYM_KEY), hex, first 32 characters (128
 * bits). Keyed, so nobody without the key can confirm a guessed id; deterministic, so the same user
 * gets the same pseudonym in every run and joins across tables still work.
 */
import { createHmac } from 'node:crypto';
import { rememberAnswers } from './memo';

export const PSEUDONYM_HEX_CHARS = 32;

export function pseudonym(userId: string, key: string): string {
  return createHmac('sha256', key).update(userId, 'utf8').digest('hex').slice(0, PSEUDONYM_HEX_CHARS);
}

/**
 * `pseudonym` with the key bound and the answers remembered, for a stream of ids that repeat (an
 * hour's events name each user many times). A call costs about 1.9 µs of HMAC here and a lookup
 * about 0.4 µs (1M ids of 100k users, node 20); the memory is bounded: at `limit` entries the
 * map starts again empty. The output is the same as `pseudonym`'s for every id.
 */
export function pseudonymizer(key: string, limit = 250_000): (userId: string) => string {
  return rememberAnswers((userId) => pseudonym(userId, key), limit);
}
