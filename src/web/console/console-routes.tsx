import { createHash, randomBytes } from 'node:crypto';
import { Hono, type MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { Deps } from '../../deps.ts';
import type { StaffRole } from '../../domain/staff.ts';
import { clientAddress } from '../../http/client-address.ts';
import { ApiError, asApiError, storeUnavailable } from '../../http/errors.ts';
import { createRateLimiter } from '../../queue/rate-limit.ts';
import type { NoticeService } from '../../services/notices/index.ts';
import type { TokenService } from '../../services/tokens.ts';
import type { SessionLifetime } from '../../store/staff-sessions.ts';
import { isStoreUnavailable } from '../../store/store-errors.ts';
import { consoleBackLink } from './back-link.ts';
import { CONSOLE_SCRIPTS } from './console-assets.ts';
import { ConsoleLayout, En, sendConsolePage } from './console-layout.tsx';
import { createOidcSignIn, OIDC_START_PATH } from './oidc-sign-in.tsx';
import {
  type ConsoleEnv,
  type ConsoleRefusal,
  checkConsoleRequest,
  clearSessionCookie,
  formField,
  loadSession,
  readPostedForm,
  type SessionOptions,
  sameSecret,
  sessionSecretOf,
  setSessionCookie,
} from './session.ts';
/** A shift's length, and long enough at an unattended desk; sign-in again after either. */
export const DEFAULT_SESSION_LIFETIME: SessionLifetime = { absoluteMs: 12 * 60 * 60 * 1000, idleMs: 60 * 60 * 1000 };

/** Wrong tokens per client before sign-in pauses: enough for typing mistakes, too few to guess. */
const SIGNIN_ATTEMPTS = 10;
const SIGNIN_WINDOW_SECONDS = 15 * 60;

const LOGIN_CSRF_COOKIE = 'hibiki_login_csrf';

/** The actor of a failed sign-in's audit row: nobody is known, the row's client address says from where. */
const SIGNIN_UNKNOWN_ACTOR = '(サインイン失敗 / failed sign-in)';

/** What each console page module gets to build its routes. */
export interface ConsolePageContext {
  deps: Deps;
  notices: NoticeService;
  tokens: TokenService;
  session: SessionOptions;
  /** Signed in, with the role, and for a POST a matching CSRF token; otherwise the refusal page. */
  guard(role: StaffRole): MiddlewareHandler<ConsoleEnv>;
}

export type ConsolePageModule = (ctx: ConsolePageContext) => Hono<ConsoleEnv>;

/** Only a path inside the console, so a crafted ?next= cannot send a signed-in user elsewhere. */
export function safeNext(next: string | undefined): string {
  if (!next?.startsWith('/console') || next.startsWith('//') || /[\\\r\n]/.test(next)) {
    return '/console/notices';
  }
  return next;
}

const REFUSAL_TEXT: Record<Exclude<ConsoleRefusal, 'signed_out'>, { ja: string; en: string; status: 403 }> = {
  forbidden: {
    ja: 'この画面を使う権限がありません。必要な役割のトークンでサインインし直すか、管理者に依頼してください。',
    en: 'Your role cannot use this page. Sign in with a token that has the role, or ask an administrator.',
    status: 403,
  },
  csrf: {
    ja: 'フォームの確認用の値が一致しませんでした（画面を開いたまま時間がたったか、別のサイトから送信されました）。画面を開き直して、もう一度操作してください。',
    en: 'The form could not be verified (it was open too long, or was sent from another site). Reload the page and try again.',
    status: 403,
  },
};

export function createConsoleRoutes(
  deps: Deps,
  pages: ConsolePageModule[],
  options: { lifetime?: SessionLifetime; services: { notices: NoticeService; tokens: TokenService } },
): Hono<ConsoleEnv> {
  const logger = deps.logger.child({ component: 'console' });
  // With ADMIN_PORT the console lives on the admin listener's address, not the residents' site.
  const baseUrl = new URL(deps.config.consoleBaseUrl);
  const session: SessionOptions = {
    sessions: deps.store.staffSessions,
    lifetime: options.lifetime ?? DEFAULT_SESSION_LIFETIME,
    secure: baseUrl.protocol === 'https:',
    origin: baseUrl.origin,
  };
  const { notices, tokens } = options.services;
  const limiter = createRateLimiter(deps.redis, `${deps.config.queuePrefix}:ratelimit:console-signin`);

  const app = new Hono<ConsoleEnv>();
  app.use('/console/*', loadSession(session));
  app.use('/console', loadSession(session));
  app.use('/console/*', readPostedForm);

  const refuse = async (c: Parameters<MiddlewareHandler<ConsoleEnv>>[0], refusal: ConsoleRefusal) => {
    if (refusal === 'signed_out') {
      if (c.req.method === 'GET') {
        return c.redirect(`/console/login?next=${encodeURIComponent(c.req.path)}`, 303);
      }
      return sendConsolePage(
        c,
        <ConsoleLayout title="サインインしてください" section="none">
          <h1>サインインしてください</h1>
          <p>
            セッションが終了しました。<a href="/console/login">サインイン</a>してから、もう一度操作してください。
          </p>
          <p>
            <En>Your session has ended. Sign in and try again.</En>
          </p>
        </ConsoleLayout>,
        401,
      );
    }
    const text = REFUSAL_TEXT[refusal];
    logger.warn({ refusal, path: c.req.path, tokenId: c.get('session')?.identity.tokenId }, 'console request refused');
    return sendConsolePage(
      c,
      <ConsoleLayout
        title={refusal === 'csrf' ? '操作を確認できませんでした' : '権限がありません'}
        session={c.get('session')}
        section="none"
      >
        <h1>{refusal === 'csrf' ? '操作を確認できませんでした' : '権限がありません'}</h1>
        <p>{text.ja}</p>
        <p>
          <En>{text.en}</En>
        </p>
      </ConsoleLayout>,
      text.status,
    );
  };

  const guard =
    (role: StaffRole): MiddlewareHandler<ConsoleEnv> =>
    async (c, next) => {
      const refusal = await checkConsoleRequest(c, session, role);
      if (refusal) return refuse(c, refusal);
      await next();
    };

  app.get('/console', guard('author'), (c) => c.redirect('/console/notices', 303));

  app.get('/console/assets/:file{[a-z-]+\\.js}', (c) => {
    const name = c.req.param('file').replace(/\.js$/, '');
    const script = CONSOLE_SCRIPTS[name];
    if (!script) return c.notFound();
    return c.body(script, 200, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': 'no-cache',
      ETag: `"${createHash('sha256').update(script).digest('base64url').slice(0, 16)}"`,
      'X-Content-Type-Options': 'nosniff',
    });
  });

  const loginPage = (c: Parameters<MiddlewareHandler<ConsoleEnv>>[0], error?: { ja: string; en: string }) => {
    // Sign-in has no session yet: a double-submit cookie stands in for the session's token,
    // so another site cannot sign a member of staff in under its own token.
    const loginCsrf = randomBytes(18).toString('base64url');
    setCookie(c, LOGIN_CSRF_COOKIE, loginCsrf, {
      httpOnly: true,
      secure: session.secure,
      sameSite: 'Strict',
      path: '/console/login',
      maxAge: 3600,
    });
    const next = safeNext(c.req.query('next'));
    return sendConsolePage(
      c,
      <ConsoleLayout title="サインイン" section="none">
        <h1>
          サインイン <En>/ Sign in</En>
        </h1>
        {deps.config.oidc ? (
          <>
            <div class="actions">
              <a class="button" href={`${OIDC_START_PATH}?next=${encodeURIComponent(next)}`}>
                自治体のアカウントでサインイン <span lang="en">/ Sign in with the city account</span>
              </a>
            </div>
            <h2>
              トークンでサインイン <En>/ Sign in with a token</En>
            </h2>
          </>
        ) : null}
        <p>
          職員用のトークン（<code>hibiki token create</code> で作成したもの）を入力してください。
          <br />
          <En>Enter your staff token (made with hibiki token create).</En>
        </p>
        {error ? (
          <div class="flash bad" role="alert">
            <p>{error.ja}</p>
            <p>
              <En>{error.en}</En>
            </p>
          </div>
        ) : null}
        <form method="post" action={`/console/login?next=${encodeURIComponent(next)}`}>
          <input type="hidden" name="_csrf" value={loginCsrf} />
          <label for="token">
            トークン <En>/ Token</En>
          </label>
          <input
            type="password"
            id="token"
            name="token"
            autocomplete="current-password"
            required
            aria-invalid={error ? 'true' : undefined}
            aria-describedby="token-hint"
          />
          <p class="hint" id="token-hint">
            hbk_ で始まる文字列です。 <En>It starts with hbk_.</En>
          </p>
          <div class="actions">
            <button type="submit">サインイン</button>
          </div>
        </form>
      </ConsoleLayout>,
      error ? 401 : 200,
    );
  };

  app.get('/console/login', (c) => {
    if (c.get('session')) return c.redirect(safeNext(c.req.query('next')), 303);
    return loginPage(c);
  });

  app.post('/console/login', async (c) => {
    const client = clientAddress(c);
    const expected = getCookie(c, LOGIN_CSRF_COOKIE);
    const sent = await formField(c, '_csrf');
    const origin = c.req.header('origin');
    if (!expected || !sent || !sameSecret(sent, expected) || (origin !== undefined && origin !== session.origin)) {
      return refuse(c, 'csrf');
    }
    const gate = await limiter.hit(
      `client:${createHash('sha256').update(client).digest('hex')}`,
      SIGNIN_ATTEMPTS,
      SIGNIN_WINDOW_SECONDS,
    );
    if (!gate.allowed) {
      // The first refused try of a window is the lockout: one row for it, not one per try after.
      if (gate.count === SIGNIN_ATTEMPTS + 1) {
        await deps.store.audit.record(SIGNIN_UNKNOWN_ACTOR, 'console.signin.locked', null, {
          failures: SIGNIN_ATTEMPTS,
          retryAfterSeconds: gate.retryAfterSeconds,
        });
        logger.warn({ clientAddress: client, retryAfterSeconds: gate.retryAfterSeconds }, 'console sign-in locked');
      }
      c.header('Retry-After', String(gate.retryAfterSeconds));
      const minutes = Math.ceil(gate.retryAfterSeconds / 60);
      return loginPage(c, {
        ja: `サインインの失敗が続いたため、一時的に受け付けを止めています。${minutes}分後にもう一度お試しください。`,
        en: `Too many failed sign-ins. Try again in ${minutes} minutes.`,
      });
    }
    const token = (await formField(c, 'token'))?.trim() ?? '';
    const checked = token ? await deps.store.tokens.check(token) : { refused: 'invalid' as const };
    if ('refused' in checked) {
      // Never the token sent: a near miss of a real one is a secret too.
      await deps.store.audit.record(SIGNIN_UNKNOWN_ACTOR, 'console.signin.failed', null, {
        failure: gate.count,
        reason: checked.refused,
      });
      logger.info({ outcome: 'refused', reason: checked.refused, clientAddress: client }, 'console sign-in');
      return loginPage(
        c,
        checked.refused === 'expired'
          ? {
              ja: 'このトークンは有効期限が切れています。管理者に新しいトークンを依頼してください。',
              en: 'This token has expired. Ask an administrator for a new one.',
            }
          : {
              ja: 'トークンが正しくないか、失効しています。入力し直すか、管理者に新しいトークンを依頼してください。',
              en: 'The token is wrong or revoked. Enter it again, or ask an administrator for a new one.',
            },
      );
    }
    const { identity } = checked;
    // A successful sign-in clears the count, so a long day of typing mistakes never locks out.
    await limiter.reset(`client:${createHash('sha256').update(client).digest('hex')}`);
    const created = await deps.store.staffSessions.create(identity.tokenId, session.lifetime);
    setSessionCookie(c, session, created.secret, created.expiresAt);
    await deps.store.audit.record(identity.name, 'console.signin', `token:${identity.tokenId}`);
    logger.info({ outcome: 'signed_in', tokenId: identity.tokenId }, 'console sign-in');
    return c.redirect(safeNext(c.req.query('next')), 303);
  });

  app.post('/console/logout', guard('author'), async (c) => {
    const secret = sessionSecretOf(c, session);
    const current = c.get('session');
    if (secret) await deps.store.staffSessions.destroy(secret);
    clearSessionCookie(c, session);
    if (current)
      await deps.store.audit.record(current.identity.name, 'console.signout', `token:${current.identity.tokenId}`);
    return c.redirect('/console/login', 303);
  });

  if (deps.config.oidc) {
    app.route('/', createOidcSignIn({ deps, settings: deps.config.oidc, session, logger, safeNext }));
  }

  // A service refusal (a bad field, a notice in the wrong state) becomes a page, not the API's JSON.
  app.onError(async (thrown, c) => {
    // A store outage is a wait, not a fault: the same 503 and Retry-After as the API gives.
    const err = isStoreUnavailable(thrown) ? storeUnavailable() : (asApiError(thrown) ?? thrown);
    if (err instanceof ApiError) {
      for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value);
      return sendConsolePage(
        c,
        <ConsoleLayout title="操作できませんでした" session={c.get('session')} section="none">
          <h1>操作できませんでした</h1>
          <div class="flash bad" role="alert">
            <p>{err.message}</p>
            <p>
              <En>{err.messageEn}</En>
            </p>
          </div>
          <p>
            <a href={consoleBackLink(c.req.header('referer'), session.origin)}>前の画面へ戻る</a> <En>Go back</En>
          </p>
        </ConsoleLayout>,
        err.status,
      );
    }
    logger.error(
      { err: { message: err.message, stack: err.stack }, path: c.req.path, requestId: c.get('requestId') },
      'console error',
    );
    return sendConsolePage(
      c,
      <ConsoleLayout title="エラー" session={c.get('session')} section="none">
        <h1>エラーが発生しました</h1>
        <p>
          時間をおいてもう一度お試しください。続くときは、管理者にこの番号を伝えてください:{' '}
          <code>{c.get('requestId')}</code>
        </p>
        <p>
          <En>Something went wrong. Try again; if it persists, give an administrator this id.</En>
        </p>
      </ConsoleLayout>,
      500,
    );
  });

  const ctx: ConsolePageContext = { deps, notices, tokens, session, guard };
  for (const page of pages) app.route('/', page(ctx));

  app.all('/console/*', guard('author'), (c) =>
    sendConsolePage(
      c,
      <ConsoleLayout title="ページが見つかりません" session={c.get('session')} section="none">
        <h1>ページが見つかりません</h1>
        <p>
          <a href="/console/notices">通知一覧</a>へ戻ってください。 <En>Page not found; go back to the notice list.</En>
        </p>
      </ConsoleLayout>,
      404,
    ),
  );

  return app;
}
