import { randomBytes } from 'node:crypto';
import type { Db } from './db.ts';
import type { SubscriberTokenPurpose } from './schema.ts';
import { toIso } from './time.ts';
import { hashToken } from './tokens.ts';

/**
 * Secrets residents hold in a link: a confirmation link, or a manage link mailed on
 * request. The secret is 32 random bytes (base64url), shown once; only its sha256 is
 * stored, so a copy of the database opens nobody's subscription.
 */

export type ResidentTokenPurpose = SubscriberTokenPurpose;

export interface ResidentTokenHolder {
  subscriberId: number;
  contactId: number | null;
}

/** 32 bytes in base64url without padding. */
const SECRET_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export type ResidentTokenRepo = ReturnType<typeof createResidentTokenRepo>;

export function createResidentTokenRepo(db: Db) {
  const k = db.kysely;
  return {
    /**
     * Makes a secret for the subscriber (and one of its contacts, if given) and returns it;
     * it cannot be read back later. ttlMs null: it does not expire.
     */
    async issue(
      subscriberId: number,
      purpose: ResidentTokenPurpose,
      contactId: number | null = null,
      ttlMs: number | null = 24 * 60 * 60 * 1000,
      now = new Date(),
    ): Promise<string> {
      const secret = randomBytes(32).toString('base64url');
      await k
        .insertInto('subscriber_tokens')
        .values({
          token_hash: hashToken(secret),
          subscriber_id: subscriberId,
          purpose,
          contact_id: contactId,
          expires_at: ttlMs === null ? null : toIso(new Date(now.getTime() + ttlMs)),
          created_at: toIso(now),
        })
        .execute();
      return secret;
    },

    /** Whose secret this is, for this purpose; undefined if unknown, for another purpose, or expired. */
    async find(
      secret: string,
      purpose: ResidentTokenPurpose,
      now = new Date(),
    ): Promise<ResidentTokenHolder | undefined> {
      if (!SECRET_SHAPE.test(secret)) return undefined;
      const row = await k
        .selectFrom('subscriber_tokens')
        .select(['subscriber_id', 'contact_id', 'expires_at'])
        .where('token_hash', '=', hashToken(secret))
        .where('purpose', '=', purpose)
        .executeTakeFirst();
      // ISO-8601 UTC text compares in time order.
      if (!row || (row.expires_at !== null && row.expires_at <= toIso(now))) return undefined;
      return {
        subscriberId: Number(row.subscriber_id),
        contactId: row.contact_id === null ? null : Number(row.contact_id),
      };
    },

    /** Makes one secret unusable; false when it was not known. */
    async revoke(secret: string): Promise<boolean> {
      if (!SECRET_SHAPE.test(secret)) return false;
      const result = await k
        .deleteFrom('subscriber_tokens')
        .where('token_hash', '=', hashToken(secret))
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /** Makes every secret of a subscriber (of one purpose, if given) unusable; returns how many. */
    async revokeAll(subscriberId: number, purpose?: ResidentTokenPurpose): Promise<number> {
      let q = k.deleteFrom('subscriber_tokens').where('subscriber_id', '=', subscriberId);
      if (purpose) q = q.where('purpose', '=', purpose);
      const result = await q.executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    /** Deletes expired secrets; they already fail find(), this only keeps the table small. */
    async purgeExpired(now = new Date()): Promise<number> {
      const result = await k
        .deleteFrom('subscriber_tokens')
        .where('expires_at', 'is not', null)
        .where('expires_at', '<=', toIso(now))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
