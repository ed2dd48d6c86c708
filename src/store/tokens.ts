import { createHash, randomBytes } from 'node:crypto';
import type { StaffIdentity, StaffRole } from '../domain/staff.ts';
import type { Db } from './db.ts';
import { toIso } from './time.ts';
export interface StaffToken {
  id: number;
  name: string;
  role: StaffRole;
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
  /** Null: until revoked. */
  expiresAt: string | null;
  /** 'oidc': a person who signs in through the city's identity provider, not a bearer token. */
  kind: 'token' | 'oidc';
}

/** Why a bearer token was not taken: unknown or revoked, or past its expiry. */
export type TokenRefusal = 'invalid' | 'expired';

export type TokenCheck = { identity: StaffIdentity } | { refused: TokenRefusal };

/** A person as the identity provider names them, after the console checked the ID token. */
export interface OidcPerson {
  issuer: string;
  subject: string;
  name: string;
  role: StaffRole;
  /**
   * Live rows whose name reads as `name` (the caller compares, as token names are compared):
   * when one is not this person's own, they are named `nameIfTaken` instead, so the audit log
   * and approvals never show two people under one name.
   */
  takenBy?: number[];
  nameIfTaken?: string;
}

/** Tokens are stored only as SHA-256 hashes: they are long random strings, so no slow hash is needed. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

const isPast = (expiresAt: string | null, now: Date): boolean =>
  expiresAt !== null && Date.parse(expiresAt) <= now.getTime();

export type TokenRepo = ReturnType<typeof createTokenRepo>;

export function createTokenRepo(db: Db) {
  const k = db.kysely;
  return {
    /** Returns the token itself once; only its hash is kept. */
    async create(
      name: string,
      role: StaffRole,
      options: { expiresAt?: Date | null; now?: Date } = {},
    ): Promise<{ id: number; token: string }> {
      const token = `hbk_${randomBytes(32).toString('base64url')}`;
      const row = await k
        .insertInto('staff_tokens')
        .values({
          name,
          role,
          token_hash: hashToken(token),
          created_at: toIso(options.now ?? new Date()),
          revoked_at: null,
          last_used_at: null,
          expires_at: options.expiresAt ? toIso(options.expiresAt) : null,
          oidc_issuer: null,
          oidc_subject: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { id: Number(row.id), token };
    },

    /** The identity a bearer token stands for, or why it is refused. */
    async check(token: string, now = new Date()): Promise<TokenCheck> {
      const row = await k
        .selectFrom('staff_tokens')
        .select(['id', 'name', 'role', 'last_used_at', 'expires_at'])
        .where('token_hash', '=', hashToken(token))
        .where('revoked_at', 'is', null)
        // A person's identity-provider row is no bearer token, whatever hash it holds.
        .where('oidc_subject', 'is', null)
        .executeTakeFirst();
      if (!row) return { refused: 'invalid' };
      if (isPast(row.expires_at, now)) return { refused: 'expired' };
      // Note use at most once a minute, so busy API clients do not turn every read into a write.
      if (!row.last_used_at || now.getTime() - Date.parse(row.last_used_at) > 60_000) {
        await k
          .updateTable('staff_tokens')
          .set({ last_used_at: toIso(now) })
          .where('id', '=', row.id)
          .execute();
      }
      return { identity: { tokenId: Number(row.id), name: row.name, role: row.role } };
    },

    async verify(token: string, now = new Date()): Promise<StaffIdentity | undefined> {
      const checked = await this.check(token, now);
      return 'identity' in checked ? checked.identity : undefined;
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
        expiresAt: r.expires_at,
        kind: r.oidc_subject === null ? 'token' : 'oidc',
      }));
    },

    /** Names of the rows that still act (neither revoked nor expired): a new token's name must differ from each. */
    async liveNames(now = new Date()): Promise<{ id: number; name: string }[]> {
      const rows = await k
        .selectFrom('staff_tokens')
        .select(['id', 'name', 'expires_at'])
        .where('revoked_at', 'is', null)
        .execute();
      return rows.filter((r) => !isPast(r.expires_at, now)).map((r) => ({ id: Number(r.id), name: r.name }));
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

    /**
     * The staff identity of a person the identity provider vouched for: their live row,
     * with the name and role the provider gives today, or a new one. The row's hash is of
     * a secret thrown away at once, so it can never be used as a bearer token.
     */
    async signInPerson(person: OidcPerson, now = new Date()): Promise<StaffIdentity> {
      const live = await k
        .selectFrom('staff_tokens')
        .select(['id'])
        .where('oidc_issuer', '=', person.issuer)
        .where('oidc_subject', '=', person.subject)
        .where('revoked_at', 'is', null)
        .orderBy('id', 'desc')
        .executeTakeFirst();
      const clash = (person.takenBy ?? []).some((id) => id !== Number(live?.id));
      const name = clash && person.nameIfTaken ? person.nameIfTaken : person.name;
      if (live) {
        await k
          .updateTable('staff_tokens')
          .set({ name, role: person.role, last_used_at: toIso(now) })
          .where('id', '=', live.id)
          .execute();
        return { tokenId: Number(live.id), name, role: person.role };
      }
      const row = await k
        .insertInto('staff_tokens')
        .values({
          name,
          role: person.role,
          token_hash: hashToken(randomBytes(32).toString('base64url')),
          created_at: toIso(now),
          revoked_at: null,
          last_used_at: toIso(now),
          expires_at: null,
          oidc_issuer: person.issuer,
          oidc_subject: person.subject,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { tokenId: Number(row.id), name, role: person.role };
    },

    /**
     * Ends a person's staff identity when the provider no longer gives them a role: every
     * console session they hold ends with it. Returns the rows ended.
     */
    async endPerson(issuer: string, subject: string, now = new Date()): Promise<number> {
      const result = await k
        .updateTable('staff_tokens')
        .set({ revoked_at: toIso(now) })
        .where('oidc_issuer', '=', issuer)
        .where('oidc_subject', '=', subject)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
