import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './db.ts';
import type { StaffRole } from './schema.ts';
import { toIso } from './time.ts';

export interface StaffToken {
  id: number;
  name: string;
  role: StaffRole;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export interface StaffIdentity {
  tokenId: number;
  name: string;
  role: StaffRole;
}

/** Tokens are stored only as SHA-256 hashes: they are long random strings, so no slow hash is needed. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export type TokenRepo = ReturnType<typeof createTokenRepo>;

export function createTokenRepo(db: Db) {
  const k = db.kysely;
  return {
    /** Returns the token itself once; only its hash is kept. */
    async create(name: string, role: StaffRole, now = new Date()): Promise<{ id: number; token: string }> {
      const token = `hbk_${randomBytes(32).toString('base64url')}`;
      const row = await k
        .insertInto('staff_tokens')
        .values({
          name,
          role,
          token_hash: hashToken(token),
          created_at: toIso(now),
          revoked_at: null,
          last_used_at: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { id: Number(row.id), token };
    },

    async verify(token: string): Promise<StaffIdentity | undefined> {
      const row = await k
        .selectFrom('staff_tokens')
        .select(['id', 'name', 'role', 'last_used_at'])
        .where('token_hash', '=', hashToken(token))
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (!row) return undefined;
      // Note use at most once a minute, so busy API clients do not turn every read into a write.
      const now = new Date();
      if (!row.last_used_at || now.getTime() - Date.parse(row.last_used_at) > 60_000) {
        await k
          .updateTable('staff_tokens')
          .set({ last_used_at: toIso(now) })
          .where('id', '=', row.id)
          .execute();
      }
      return { tokenId: Number(row.id), name: row.name, role: row.role };
    },

    async list(): Promise<StaffToken[]> {
      const rows = await k.selectFrom('staff_tokens').selectAll().orderBy('id').execute();
      return rows.map((r) => ({
        id: Number(r.id),
        name: r.name,
        role: r.role,
        createdAt: r.created_at,
        revokedAt: r.revoked_at,
        lastUsedAt: r.last_used_at,
      }));
    },

    /** Returns false when no such live token exists. */
    async revoke(id: number, now = new Date()): Promise<boolean> {
      const result = await k
        .updateTable('staff_tokens')
        .set({ revoked_at: toIso(now) })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}
