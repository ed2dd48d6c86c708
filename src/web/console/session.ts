import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { hasRole, type StaffRole } from '../../domain/staff.ts';
import type { AppEnv } from '../../http/auth.ts';
import { ApiError, nulFieldError, nulPath } from '../../http/errors.ts';
import type { ConsoleSession, SessionLifetime, StaffSessionRepo } from '../../store/staff-sessions.ts';
export interface ConsoleEnv {
  Variables: AppEnv['Variables'] & {
    /** Set for every console request made within a live session. */
    session?: ConsoleSession;
  };
}

export interface SessionOptions {
  sessions: StaffSessionRepo;
  lifetime: SessionLifetime;
  /** From PUBLIC_BASE_URL: behind a TLS-terminating proxy the request itself looks like http. */
  secure: boolean;
  /** The origin pages are served from, to check the Origin header of every form post. */
  origin: string;
}

/** The __Host- prefix makes the browser refuse the cookie unless it is Secure, for this host, on path /. */
export const sessionCookieName = (secure: boolean): string => (secure ? '__Host-hibiki_console' : 'hibiki_console');

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function setSessionCookie(c: Context, options: SessionOptions, secret: string, expiresAt: Date): void {
  setCookie(c, sessionCookieName(options.secure), secret, {
    httpOnly: true,
    secure: options.secure,
    sameSite: 'Strict',
    path: '/',
    expires: expiresAt,
  });
}

export function clearSessionCookie(c: Context, options: SessionOptions): void {
  deleteCookie(c, sessionCookieName(options.secure), { path: '/', secure: options.secure });
}

export function sessionSecretOf(c: Context, options: SessionOptions): string | undefined {
  return getCookie(c, sessionCookieName(options.secure));
}

/** Constant-time comparison, so the CSRF token cannot be guessed a byte at a time. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Loads the session named by the cookie, if any; sets `session` and `staff` on the context. */
export function loadSession(options: SessionOptions): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    const secret = sessionSecretOf(c, options);
    if (secret) {
      // A page that polls on its own (the queue board's API) is not a person at the desk: it
      // must not keep an unattended session from idling out.
      const touch = !(c.req.method === 'GET' && c.req.path.startsWith('/console/queues/api/'));
      const session = await options.sessions.find(secret, options.lifetime, { touch });
      if (session) {
        c.set('session', session);
        c.set('staff', session.identity);
      } else {
        clearSessionCookie(c, options);
      }
    }
    await next();
  };
}

export type ConsoleRefusal = 'signed_out' | 'forbidden' | 'csrf';

/**
 * Whether a console request may go on: signed in, with the role, and for any state-changing
 * request a CSRF token that matches the session (form field `_csrf` or header
 * `X-CSRF-Token`) and an Origin, when the browser sends one, that is ours.
 */
export async function checkConsoleRequest(
  c: Context<ConsoleEnv>,
  options: SessionOptions,
  role: StaffRole,
): Promise<ConsoleRefusal | null> {
  const session = c.get('session');
  if (!session) return 'signed_out';
  if (UNSAFE.has(c.req.method)) {
    const origin = c.req.header('origin');
    if (origin !== undefined && origin !== options.origin) return 'csrf';
    const sent = c.req.header('x-csrf-token') ?? (await formField(c, '_csrf'));
    if (!sent || !sameSecret(sent, session.csrfToken)) return 'csrf';
  }
  if (!hasRole(session.identity, role)) return 'forbidden';
  return null;
}

const isForm = (c: Context): boolean => {
  const type = c.req.header('content-type') ?? '';
  return type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data');
};

/** Reads one field of a urlencoded or multipart form; Hono caches the parsed body for the handler. */
export async function formField(c: Context, name: string): Promise<string | undefined> {
  if (!isForm(c)) return undefined;
  const body = await c.req.parseBody({ all: true });
  const value = body[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Parses a posted form once, before the guard and the page read it: a body that is not the
 * form its Content-Type says (a multipart body without its boundary) is a 400 page rather
 * than a failure in whatever reads it first, and a field holding U+0000 is refused by name.
 */
export const readPostedForm: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
  if (UNSAFE.has(c.req.method) && isForm(c)) {
    let body: Record<string, unknown>;
    try {
      body = await c.req.parseBody({ all: true });
    } catch {
      throw new ApiError(400, 'invalid_form', {
        ja: '送信されたフォームを読み取れませんでした。画面を開き直して、もう一度送信してください。',
        en: 'The form sent could not be read. Reload the page and send it again.',
      });
    }
    const at = nulPath(body);
    if (at) throw nulFieldError(at[0] ?? '_');
  }
  await next();
};
