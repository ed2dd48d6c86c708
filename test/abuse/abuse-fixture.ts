import { afterAll, beforeAll } from 'vitest';
import { createApp } from '../../src/app.ts';
import type { StaffRole } from '../../src/domain/staff.ts';
import { type LineFake, startLineFake } from '../fakes/line-api.ts';
import { type ConsoleClient, signedInConsole } from '../helpers/console.ts';
import type { StoreKind } from '../helpers/db.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
/** The site the console and resident forms are served from (PUBLIC_BASE_URL in test deps). */
export const ORIGIN = 'https://hibiki.example.jp';

export const LINE_SECRET = 'line-channel-secret-for-abuse-tests';

export const ROLES: StaffRole[] = ['author', 'approver', 'admin'];

/** The Cookie header of a console session alone (the client's jar also holds the sign-in form's cookie). */
export function sessionCookie(client: ConsoleClient): string {
  const name = '__Host-hibiki_console';
  const value = client.jar.cookies.get(name);
  if (!value) throw new Error('the console client is not signed in');
  return `${name}=${value}`;
}

/** A notice that passes validation: the base of the fixture's notices and of the tests' request bodies. */
export const SHELTER_NOTICE = {
  title: '避難所の開設について',
  body: '本日18時から市民体育館を避難所として開設します。',
  severity: 'info',
  category: '避難所情報',
  topics: ['shelter'],
};

/** A Web Push subscription as the push page posts it (keys a browser could have made). */
export const pushSubscription = (endpoint: string) => ({
  endpoint,
  keys: {
    p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM',
    auth: 'tBHItJI5svbpez7KI4CCXg',
  },
  topics: ['disaster'],
  areas: [],
  locale: 'ja',
});

export interface StaffCredential {
  tokenId: number;
  token: string;
  /** A console session signed in with the same token; its CSRF token read from a page. */
  console: ConsoleClient;
}

/**
 * One Hibiki in-process with every route mounted (LINE against its fake, Web Push on) and
 * the people who call it: a live token and console session per role, a revoked token with
 * the cookie of a session it had, a resident with their secrets, and records to point at.
 */
export interface AbuseFixture {
  deps: TestDeps;
  app: ReturnType<typeof createApp>;
  staff: Record<StaffRole, StaffCredential>;
  /** An admin token that was revoked, and the cookie of the console session it had opened. */
  revoked: { token: string; cookie: string };
  resident: {
    /** A manage-link secret (src/store/resident-tokens.ts), what a resident holds in /manage?t=. */
    manage: string;
    /** A confirmation-link secret for a second, still pending address. */
    confirm: string;
    /** The signed unsubscribe link of the resident's mail contact. */
    unsubscribe: { contactId: number; token: string };
  };
  /** A sent (queued) notice, and an emergency waiting for approval. */
  notices: { sent: string; pending: string };
  webhookId: number;
  /** A CAP file name under /feeds/cap/ (the notice's CAP message, put in the store as a worker would). */
  capFile: string;
  /** Token ids that requests must never revoke, or the fixture's callers lose their identity. */
  protectedTokenIds: Set<number>;
  dispose(): Promise<void>;
}

/**
 * What a caller who is not staff holds, tried where staff credentials go: a revoked admin
 * token with the cookie of its old console session, or a resident's manage secret as both.
 */
export function nonStaffCredentials(
  f: AbuseFixture,
  who: 'revoked' | 'resident',
): { authorization: string; cookie: string } {
  return who === 'revoked'
    ? { authorization: `Bearer ${f.revoked.token}`, cookie: f.revoked.cookie }
    : { authorization: `Bearer ${f.resident.manage}`, cookie: `__Host-hibiki_console=${f.resident.manage}` };
}

/**
 * A describe block's own fixture (an abuse fixture, an API harness): made in beforeAll,
 * disposed of in afterAll. Call it in the describe block; call the getter in tests.
 */
export function suiteFixture<T extends { dispose(): Promise<void> }>(make: () => Promise<T>): () => T {
  let made: T | undefined;
  beforeAll(async () => {
    made = await make();
  });
  afterAll(async () => {
    await made?.dispose();
  });
  return () => {
    if (!made) throw new Error('suiteFixture: not made yet (it is there from beforeAll on)');
    return made;
  };
}

/** A response's text; a progress stream (which runs until its notice is final) is cancelled instead. */
export async function bodyText(res: Response): Promise<string> {
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    await res.body?.cancel();
    return '';
  }
  return res.text();
}

async function json<T>(res: Response, what: string): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

export async function createAbuseFixture(store: StoreKind = 'sqlite'): Promise<AbuseFixture> {
  const line = await startLineFake();
  let deps: TestDeps | undefined;
  try {
    deps = await createTestDeps({
      store,
      env: {
        CHANNELS: 'mail,cap,line,webhook,webpush',
        LINE_CHANNEL_ACCESS_TOKEN: line.token,
        LINE_CHANNEL_SECRET: LINE_SECRET,
        LINE_API_BASE_URL: line.baseUrl,
        // Thousands of requests from one in-process "client": the limits are tested elsewhere.
        SIGNUP_LIMIT_PER_ADDRESS: '1000000',
        SIGNUP_LIMIT_PER_CLIENT: '1000000',
        LINE_WEBHOOK_LIMIT_PER_CLIENT: '1000000',
        PUBLIC_POST_LIMIT_PER_CLIENT: '1000000',
      },
    });
    return await populate(deps, line);
  } catch (err) {
    await deps?.dispose();
    await line.close();
    throw err;
  }
}

async function populate(deps: TestDeps, line: LineFake): Promise<AbuseFixture> {
  const app = createApp(deps);
  const staff = {} as Record<StaffRole, StaffCredential>;
  for (const role of ROLES) {
    const console = await signedInConsole(app, deps.store.tokens, role, `abuse-${role}`);
    staff[role] = { tokenId: console.tokenId, token: console.token, console };
  }

  const gone = await signedInConsole(app, deps.store.tokens, 'admin', 'abuse-revoked');
  await deps.store.tokens.revoke(gone.tokenId);

  const bearer = (role: StaffRole) => ({
    authorization: `Bearer ${staff[role].token}`,
    'content-type': 'application/json',
  });
  const post = (path: string, role: StaffRole, body: unknown) =>
    app.request(`${ORIGIN}${path}`, { method: 'POST', headers: bearer(role), body: JSON.stringify(body) });

  const notice = (overrides: Record<string, unknown>) => ({ ...SHELTER_NOTICE, ...overrides });
  const sent = await json<{ id: string }>(await post('/v1/notices', 'approver', notice({})), 'POST /v1/notices');
  const pending = await json<{ id: string }>(
    await post(
      '/v1/notices',
      'author',
      notice({ title: '避難指示', severity: 'emergency', category: '避難情報', requestApproval: true }),
    ),
    'POST /v1/notices (emergency by an author)',
  );
  const webhook = await json<{ id: number }>(
    await post('/v1/webhooks', 'admin', {
      name: 'CMS',
      url: 'https://cms.example.jp/hook',
      topics: [],
      areas: [],
      minSeverity: 'info',
    }),
    'POST /v1/webhooks',
  );

  await deps.store.capMessages.put({
    identifier: 'hibiki-abuse-1',
    noticeId: sent.id,
    revision: 1,
    msgType: 'Alert',
    sentAt: new Date(),
    expiresAt: null,
    xml: '<?xml version="1.0" encoding="UTF-8"?><alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>',
  });

  const residents = deps.store.residents;
  const subscribed = await residents.createPendingMail('resident@example.jp', {
    topics: ['disaster'],
    areas: [],
    locale: 'ja',
  });
  await residents.activate(subscribed.contactId);
  const manage = await deps.store.residentTokens.issue(subscribed.subscriberId, 'manage', subscribed.contactId, null);
  const waiting = await residents.createPendingMail('pending@example.jp', { topics: [], areas: [], locale: 'en' });
  const confirm = await deps.store.residentTokens.issue(waiting.subscriberId, 'confirm', waiting.contactId, null);

  return {
    deps,
    app,
    staff,
    revoked: { token: gone.token, cookie: sessionCookie(gone) },
    resident: {
      manage,
      confirm,
      unsubscribe: { contactId: subscribed.contactId, token: deps.links.unsubscribeToken(subscribed.contactId) },
    },
    notices: { sent: sent.id, pending: pending.id },
    webhookId: webhook.id,
    capFile: 'hibiki-abuse-1.xml',
    protectedTokenIds: new Set([...ROLES.map((r) => staff[r].tokenId), gone.tokenId]),
    async dispose() {
      await deps.dispose();
      await line.close();
    },
  };
}
