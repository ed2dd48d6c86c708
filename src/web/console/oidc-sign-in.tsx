import { type Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Deps } from '../../deps.ts';
import type { Logger } from '../../logger.ts';
import { nameKey, TOKEN_NAME_MAX } from '../../services/tokens.ts';
import { ConsoleLayout, En, sendConsolePage } from './console-layout.tsx';
import { createOidcClient, OidcFailure, type OidcSettings, type PendingSignIn } from './oidc-client.ts';
import { type ConsoleEnv, type SessionOptions, sessionSecretOf, setSessionCookie } from './session.ts';

/** Long enough to type a password and answer a second factor; short enough that a stale tab starts over. */
const PENDING_SECONDS = 10 * 60;

/** How long a visitor is asked to wait when the provider cannot be reached. */
const UNREACHABLE_RETRY_SECONDS = 30;

export const OIDC_START_PATH = '/console/oidc/start';

/**
 * The pending sign-in's cookie. SameSite=Lax, unlike the session's Strict: the provider
 * sends the browser back with a cross-site top-level GET, which a Strict cookie would miss.
 * It holds only random values for one sign-in; the session cookie is set afresh at the end.
 */
const pendingCookieName = (secure: boolean): string => (secure ? '__Host-hibiki_oidc' : 'hibiki_oidc');

function readPending(raw: string | undefined): PendingSignIn | undefined {
  if (!raw) return undefined;
  try {
    const value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Record<string, unknown>;
    const { state, nonce, verifier, next } = value;
    if ([state, nonce, verifier, next].every((v) => typeof v === 'string' && v.length > 0 && v.length < 2_000)) {
      return { state, nonce, verifier, next } as PendingSignIn;
    }
  } catch {
    // A cookie we did not write: the same as none.
  }
  return undefined;
}

/** A name another live token or person already has, told apart by the provider's subject. */
function withSubject(name: string, subject: string): string {
  const tag = ` [${[...subject.replace(/[^\x21-\x7e]/g, '')].slice(0, 40).join('')}]`;
  return [...name].slice(0, TOKEN_NAME_MAX - [...tag].length).join('') + tag;
}

interface RefusalText {
  title: string;
  ja: string;
  en: string;
  status: ContentfulStatusCode;
}

const FAILURE: Record<OidcFailure['reason'] | 'no_pending', RefusalText> = {
  no_pending: {
    title: 'サインインを確認できませんでした',
    ja: 'この画面で始めたサインインと照合できませんでした（10分以上たったか、別のタブで始め直されました）。もう一度サインインしてください。',
    en: 'This sign-in could not be matched to one started here (it took over 10 minutes, or was started again in another tab). Sign in again.',
    status: 400,
  },
  denied: {
    title: 'サインインできませんでした',
    ja: 'サインインが取り消されたか、自治体の ID プロバイダーに断られました。もう一度お試しください。',
    en: "The sign-in was cancelled, or the city's identity provider refused it. Try again.",
    status: 401,
  },
  unverified: {
    title: 'サインインを確認できませんでした',
    ja: 'ID プロバイダーからの応答を確認できませんでした。もう一度サインインしてください。続くときは管理者に連絡してください。',
    en: "The identity provider's answer could not be verified. Sign in again; if it keeps happening, tell an administrator.",
    status: 401,
  },
  unreachable: {
    title: 'ID プロバイダーに接続できません',
    ja: `自治体の ID プロバイダーに接続できませんでした。${UNREACHABLE_RETRY_SECONDS}秒ほどしてからもう一度お試しいただくか、トークンでサインインしてください。`,
    en: `The city's identity provider could not be reached. Try again in ${UNREACHABLE_RETRY_SECONDS} seconds, or sign in with a token.`,
    status: 503,
  },
};

export interface OidcSignInOptions {
  deps: Deps;
  settings: OidcSettings;
  session: SessionOptions;
  logger: Logger;
  /** The console's own ?next= rule (console-routes.tsx), applied on the way out and on the way back. */
  safeNext(next: string | undefined): string;
}

/**
 * 自治体のアカウントでサインイン: the console's sign-in through the city's OpenID provider.
 * The person becomes a staff identity of their own (issuer + subject, named by name and
 * address), with the role their provider's claim gives today, and gets a new console
 * session exactly as a token sign-in does.
 */
export function createOidcSignIn({ deps, settings, session, logger, safeNext }: OidcSignInOptions): Hono<ConsoleEnv> {
  const oidc = createOidcClient(settings);
  const cookie = pendingCookieName(session.secure);
  const app = new Hono<ConsoleEnv>();

  const refusal = (c: Context<ConsoleEnv>, text: RefusalText, extra?: { ja: string; en: string }) => {
    if (text.status === 503) c.header('Retry-After', String(UNREACHABLE_RETRY_SECONDS));
    return sendConsolePage(
      c,
      <ConsoleLayout title={text.title} section="none">
        <h1>{text.title}</h1>
        <div class="flash bad" role="alert">
          <p>{extra?.ja ?? text.ja}</p>
          <p>
            <En>{extra?.en ?? text.en}</En>
          </p>
        </div>
        <p>
          <a href="/console/login">サインインの画面へ</a> <En>Back to sign-in</En>
        </p>
      </ConsoleLayout>,
      text.status,
    );
  };

  app.get(OIDC_START_PATH, async (c) => {
    const next = safeNext(c.req.query('next'));
    let started: Awaited<ReturnType<typeof oidc.start>>;
    try {
      started = await oidc.start(next);
    } catch (err) {
      const failure = err instanceof OidcFailure ? err : new OidcFailure('unreachable', 'start');
      logger.warn({ outcome: 'unavailable', via: 'oidc', detail: failure.detail }, 'console sign-in');
      return refusal(c, FAILURE.unreachable);
    }
    setCookie(c, cookie, Buffer.from(JSON.stringify(started.pending)).toString('base64url'), {
      httpOnly: true,
      secure: session.secure,
      sameSite: 'Lax',
      path: '/',
      maxAge: PENDING_SECONDS,
    });
    return c.redirect(started.url.href, 303);
  });

  app.get('/console/oidc/callback', async (c) => {
    const pending = readPending(getCookie(c, cookie));
    // One answer per sign-in started: a replayed or second callback finds nothing to match.
    deleteCookie(c, cookie, { path: '/', secure: session.secure });
    if (!pending) {
      logger.warn({ outcome: 'refused', via: 'oidc', reason: 'no_pending' }, 'console sign-in');
      return refusal(c, FAILURE.no_pending);
    }
    let person: Awaited<ReturnType<typeof oidc.finish>>;
    try {
      person = await oidc.finish(new URL(c.req.url).search, pending);
    } catch (err) {
      const failure = err instanceof OidcFailure ? err : new OidcFailure('unverified', 'error');
      logger.warn(
        { outcome: 'refused', via: 'oidc', reason: failure.reason, detail: failure.detail },
        'console sign-in',
      );
      return refusal(c, FAILURE[failure.reason]);
    }
    if (!person.role) {
      // The provider no longer gives this person a role: whatever sessions they still hold end now too.
      const ended = await deps.store.tokens.endPerson(person.issuer, person.subject);
      logger.warn({ outcome: 'refused', via: 'oidc', reason: 'no_role', endedIdentities: ended }, 'console sign-in');
      return refusal(
        c,
        { title: '権限がありません', ja: '', en: '', status: 403 },
        {
          ja: `自治体のアカウント（${person.name}）でサインインしましたが、Hibiki の役割（author、approver、admin のいずれか）が割り当てられていません。管理者に役割の割り当てを依頼してください（ID プロバイダーの「${settings.roleClaim}」クレーム）。`,
          en: `You signed in with the city account (${person.name}), but it has no Hibiki role (author, approver or admin). Ask the administrator to give you one (the identity provider's "${settings.roleClaim}" claim).`,
        },
      );
    }
    const key = nameKey(person.name);
    const takenBy = (await deps.store.tokens.liveNames()).filter((t) => nameKey(t.name) === key).map((t) => t.id);
    const identity = await deps.store.tokens.signInPerson({
      issuer: person.issuer,
      subject: person.subject,
      name: person.name,
      role: person.role,
      takenBy,
      nameIfTaken: withSubject(person.name, person.subject),
    });
    // Session fixation: a session the browser arrived with ends, and the new one has a new secret.
    const before = sessionSecretOf(c, session);
    if (before) await deps.store.staffSessions.destroy(before);
    const created = await deps.store.staffSessions.create(identity.tokenId, session.lifetime);
    setSessionCookie(c, session, created.secret, created.expiresAt);
    await deps.store.audit.record(identity.name, 'console.signin', `token:${identity.tokenId}`, {
      via: 'oidc',
      role: identity.role,
    });
    logger.info({ outcome: 'signed_in', via: 'oidc', tokenId: identity.tokenId }, 'console sign-in');
    const next = safeNext(pending.next);
    // Not a redirect: the browser came here from the provider's site, and a redirect would carry
    // that cross-site chain on, so the Strict session cookie would not be sent with the next page.
    return sendConsolePage(
      c,
      <ConsoleLayout title="サインインしました" section="none" refresh={next}>
        <h1>
          サインインしました <En>/ Signed in</En>
        </h1>
        <p>
          {identity.name}（{identity.role}）としてサインインしました。<a href={next}>続ける</a>{' '}
          <En>Signed in. Continue.</En>
        </p>
      </ConsoleLayout>,
      200,
    );
  });

  return app;
}
