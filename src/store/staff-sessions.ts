import { randomBytes } from 'node:crypto';
import type { StaffIdentity } from '../domain/staff.ts';
import type { Db } from './db.ts';
import { toIso } from './time.ts';
import { hashToken } from './tokens.ts';
export interface ConsoleSession {
  identity: StaffIdentity;
  /** The synchroniser token every console form carries. */
  csrfToken: string;
  expiresAt: Date;
}

export interface SessionLifetime {
  /** From sign-in, however busy the session is: a shift, not forever. */
  absoluteMs: number;
  /** Without a request for this long the session ends (an unattended desk). */
  idleMs: number;
}

export type StaffSessionRepo = ReturnType<typeof createStaffSessionRepo>;

/**
 * Console sign-ins. The cookie holds a random secret; only its sha256 is stored, like the
 * staff tokens. A session lives no longer than the token it came from: revoking the token
 * or its expiry ends every session made with it, because each lookup joins the live token.
 * A person signed in through the identity provider has a staff_tokens row too.
 */
export function createStaffSessionRepo(db: Db) {
  const k = db.kysely;
  return {
    async create(
      tokenId: number,
      lifetime: SessionLifetime,
      now = new Date(),
    ): Promise<{ secret: string; csrfToken: string; expiresAt: Date }> {
      const secret = randomBytes(32).toString('base64url');
      const csrfToken = randomBytes(24).toString('base64url');
      const expiresAt = new Date(now.getTime() + lifetime.absoluteMs);
      // Sign-ins are rare; clearing the ended ones here keeps the table small without a timer.
      await k.deleteFrom('staff_sessions').where('expires_at', '<=', toIso(now)).execute();
      await k
        .insertInto('staff_sessions')
        .values({
          id_hash: hashToken(secret),
          token_id: tokenId,
          csrf_token: csrfToken,
          created_at: toIso(now),
          expires_at: toIso(expiresAt),
          last_seen_at: toIso(now),
        })
        .execute();
      return { secret, csrfToken, expiresAt };
    },

    /** The live session for a cookie's secret, or undefined when it ended, idled out or its token was revoked. */
    async find(
      secret: string,
      lifetime: SessionLifetime,
      options: { now?: Date; touch?: boolean } = {},
    ): Promise<ConsoleSession | undefined> {
      const now = options.now ?? new Date();
      const idHash = hashToken(secret);
      const row = await k
        .selectFrom('staff_sessions as s')
        .innerJoin('staff_tokens as t', 't.id', 's.token_id')
        .select([
          's.csrf_token',
          's.expires_at',
          's.last_seen_at',
          't.id as token_id',
          't.name',
          't.role',
          't.expires_at as token_expires_at',
        ])
        .where('s.id_hash', '=', idHash)
        .where('t.revoked_at', 'is', null)
        .executeTakeFirst();
      if (!row) return undefined;
      const expiresAt = new Date(row.expires_at);
      const idleUntil = Date.parse(row.last_seen_at) + lifetime.idleMs;
      // A token's expiry ends its sessions too, as its revocation does.
      const tokenEnded = row.token_expires_at !== null && Date.parse(row.token_expires_at) <= now.getTime();
      if (expiresAt.getTime() <= now.getTime() || idleUntil <= now.getTime() || tokenEnded) {
        await k.deleteFrom('staff_sessions').where('id_hash', '=', idHash).execute();
        return undefined;
      }
      // Written at most once a minute, so following a notice's progress is not a stream of writes.
      if (options.touch !== false && now.getTime() - Date.parse(row.last_seen_at) > 60_000) {
        await k
          .updateTable('staff_sessions')
          .set({ last_seen_at: toIso(now) })
          .where('id_hash', '=', idHash)
          .execute();
      }
      return {
        identity: { tokenId: Number(row.token_id), name: row.name, role: row.role },
        csrfToken: row.csrf_token,
        expiresAt,
      };
    },

    async destroy(secret: string): Promise<void> {
      await k.deleteFrom('staff_sessions').where('id_hash', '=', hashToken(secret)).execute();
    },
  };
}
