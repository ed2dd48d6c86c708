import type { MiddlewareHandler } from 'hono';
import type { RequestIdVariables } from 'hono/request-id';
import { hasRole, roleLabel, type StaffIdentity, type StaffRole } from '../domain/staff.ts';
import type { TokenRepo } from '../store/tokens.ts';
import { ApiError } from './errors.ts';
/** What every route can read from the Hono context. */
export interface AppVariables extends RequestIdVariables {
  /** Set by requireRole: the staff token that made the request. */
  staff: StaffIdentity;
}

export interface AppEnv {
  Variables: AppVariables;
}

/** 403 naming the role needed; the message can be replaced where the reason is more specific. */
export function forbidden(needed: StaffRole, message?: { ja: string; en: string }): ApiError {
  return new ApiError(
    403,
    'forbidden',
    message ?? {
      ja: `この操作には${roleLabel(needed)}以上のトークンが必要です`,
      en: `This requires a token with role ${needed} or higher`,
    },
  );
}

const UNAUTHORIZED: Record<'missing' | 'invalid' | 'expired', { ja: string; en: string }> = {
  missing: {
    ja: 'Authorization: Bearer <トークン> ヘッダーが必要です',
    en: 'Send an Authorization: Bearer <token> header',
  },
  invalid: {
    ja: 'トークンが正しくないか、失効しています',
    en: 'The token is invalid or has been revoked',
  },
  expired: {
    ja: 'トークンの有効期限が切れています。管理者に新しいトークンを依頼してください',
    en: 'The token has expired. Ask an administrator for a new one',
  },
};

function unauthorized(reason: 'missing' | 'invalid' | 'expired'): ApiError {
  // RFC 6750: no error code when the request had no credentials at all.
  const challenge =
    reason === 'missing'
      ? 'Bearer realm="hibiki"'
      : `Bearer realm="hibiki", error="invalid_token"${reason === 'expired' ? ', error_description="The token expired"' : ''}`;
  return new ApiError(401, reason === 'expired' ? 'token_expired' : 'unauthorized', UNAUTHORIZED[reason], {
    headers: { 'WWW-Authenticate': challenge },
  });
}

/**
 * Authenticates the bearer token and checks its role; puts the identity in the context as
 * `staff`. Runs before body validation, so an anonymous caller learns nothing about the API.
 */
export function requireRole(tokens: Pick<TokenRepo, 'check'>, role: StaffRole): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (!header) throw unauthorized('missing');
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (!match?.[1]) throw unauthorized('invalid');
    const checked = await tokens.check(match[1]);
    if ('refused' in checked) throw unauthorized(checked.refused);
    const { identity } = checked;
    if (!hasRole(identity, role)) throw forbidden(role);
    c.set('staff', identity);
    await next();
  };
}
