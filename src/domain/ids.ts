import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Time-ordered random ids (ULID-like, lower-case Crockford base32). They never look like
 * an integer and never hold ':', so they are safe inside BullMQ job ids and CAP identifiers.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const rand = randomBytes(10);
  let tail = '';
  for (const byte of rand) tail += ALPHABET[byte % 32];
  return `${prefix}${time}${tail}`;
}
