import { ApiError, type FieldErrors, notFoundError } from '../api/errors.ts';
import type { AuditRepo } from '../store/audit.ts';
import type { StaffRole } from '../store/schema.ts';
import type { StaffIdentity, StaffToken, TokenRepo } from '../store/tokens.ts';

export const STAFF_ROLES = ['author', 'approver', 'admin'] as const satisfies readonly StaffRole[];

/** Long enough for a section and a person's name; short enough for a table cell and a log line. */
export const TOKEN_NAME_MAX = 100;

export interface TokenInput {
  name: string;
  role: StaffRole;
}

export interface CreatedToken extends TokenInput {
  id: number;
  /** The token itself: shown to the admin this once, never stored, logged or audited. */
  token: string;
}

const isRole = (value: unknown): value is StaffRole =>
  typeof value === 'string' && (STAFF_ROLES as readonly string[]).includes(value);

/**
 * Checks a token request from any form or body: the name trimmed and 1–100 characters, the
 * role one of the three. The API's zod schema states the same rule for its OpenAPI document.
 */
export function checkTokenInput(raw: {
  name?: unknown;
  role?: unknown;
}): { input: TokenInput } | { errors: FieldErrors } {
  const errors: FieldErrors = {};
  const name = typeof raw.name === 'string' ? raw.name.trim() : '';
  if (name.length === 0) {
    errors.name = [
      { ja: '名前を入力してください（誰のトークンか分かる名前）', en: 'Enter a name (whose token this is)' },
    ];
  } else if (name.length > TOKEN_NAME_MAX) {
    errors.name = [
      {
        ja: `名前は${TOKEN_NAME_MAX}文字以内にしてください（今は${name.length}文字）`,
        en: `Use at most ${TOKEN_NAME_MAX} characters (now ${name.length})`,
      },
    ];
  }
  if (!isRole(raw.role)) {
    errors.role = [
      { ja: '役割を author、approver、admin から選んでください', en: 'Choose a role: author, approver or admin' },
    ];
  }
  if (Object.keys(errors).length > 0 || !isRole(raw.role)) return { errors };
  return { input: { name, role: raw.role } };
}

export interface TokenServiceDeps {
  tokens: TokenRepo;
  audit: Pick<AuditRepo, 'record'>;
}

export type TokenService = ReturnType<typeof createTokenService>;

/**
 * Staff token management, shared by the admin API and the console so both check and audit
 * alike. The audit detail names the token and its role, never the token itself.
 */
export function createTokenService({ tokens, audit }: TokenServiceDeps) {
  return {
    list: (): Promise<StaffToken[]> => tokens.list(),

    async create(actor: StaffIdentity, raw: { name?: unknown; role?: unknown }): Promise<CreatedToken> {
      const checked = checkTokenInput(raw);
      if ('errors' in checked) {
        throw new ApiError(
          400,
          'validation_failed',
          {
            ja: `入力内容に誤りがあります: ${Object.keys(checked.errors).join(', ')}`,
            en: `Invalid input: ${Object.keys(checked.errors).join(', ')}`,
          },
          { fields: checked.errors },
        );
      }
      const { name, role } = checked.input;
      const { id, token } = await tokens.create(name, role);
      await audit.record(actor.name, 'token.create', String(id), { name, role });
      return { id, name, role, token };
    },

    /** Revokes a live token; every console session made with it ends with it. 404 when none is live. */
    async revoke(actor: StaffIdentity, id: number): Promise<void> {
      if (!(await tokens.revoke(id))) throw notFoundError({ ja: `有効なトークン ${id} `, en: `Live token ${id}` });
      await audit.record(actor.name, 'token.revoke', String(id));
    },
  };
}
