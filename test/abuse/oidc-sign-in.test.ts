import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { type IdpClaims, type OidcIdp, startOidcIdp, visitProvider } from '../fakes/oidc-idp.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
import { configErrorOf } from '../helpers/config-error.ts';
import { type ConsoleClient, consoleClient, signedInConsole } from '../helpers/console.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';

/**
 * 自治体のアカウントでサインイン against a real OpenID provider (node-oidc-provider) on a
 * local port: the whole authorization code flow with PKCE, state and nonce, the provider's
 * own login and consent forms, signed ID tokens and userinfo. The browser is played by
 * fetch (cookies per site, redirects followed by hand); Hibiki's side runs in-process on
 * its https PUBLIC_BASE_URL, so its cookies carry the __Host- prefix as in production.
 */

const ORIGIN = 'https://hibiki.example.jp';
const CALLBACK = `${ORIGIN}/console/oidc/callback`;
const CLIENT_ID = 'hibiki-console';
const CLIENT_SECRET = 'oidc-client-secret-for-the-abuse-tests-0123456789';
const PENDING = '__Host-hibiki_oidc';
const SESSION = '__Host-hibiki_console';

const PEOPLE = {
  yamada: {
    sub: 'idp-0001',
    name: '山田 太郎',
    email: 'yamada@city.yamaga.example',
    roles: ['all-staff', 'approver'],
  },
  sato: { sub: 'idp-0002', name: '佐藤 花子', email: 'sato@city.yamaga.example', roles: 'author' },
  suzuki: { sub: 'idp-0003', name: '鈴木 一郎', email: 'suzuki@city.yamaga.example', roles: ['all-staff'] },
  tanaka: { sub: 'idp-0004', name: '田中 次郎', email: 'tanaka@city.yamaga.example' },
  // Two people of one name are told apart by their address.
  yamada2: { sub: 'idp-0005', name: '山田 太郎', email: 'yamada.t@city.yamaga.example', roles: ['approver'] },
  // No address, and the name of a live token: named apart by the subject.
  kiki: { sub: 'idp-0006', name: '危機管理監', roles: ['approver'] },
} satisfies Record<string, IdpClaims>;

describe.each(['sqlite', 'postgres'] as const)('staff sign-in with the city account (OpenID Connect, %s)', (store) => {
  let idp: OidcIdp;
  let deps: TestDeps;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    idp = await startOidcIdp();
    for (const [login, claims] of Object.entries(PEOPLE)) idp.accounts.set(login, { ...claims });
    deps = await createTestDeps({
      store,
      env: { OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET },
    });
    idp.register({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: CALLBACK });
    app = createApp(deps);
  }, 30_000);
  afterAll(async () => {
    await deps?.dispose();
    await idp?.close();
  });

  /** From the sign-in page's button to the provider's redirect back, not yet followed. */
  async function toCallback(client: ConsoleClient, login: string, next = '/console/approvals'): Promise<URL> {
    const start = await client.get(`/console/oidc/start?next=${encodeURIComponent(next)}`);
    expect(start.status).toBe(303);
    const authorize = start.headers.get('location') ?? '';
    expect(authorize.startsWith(idp.issuer)).toBe(true);
    return (await visitProvider(authorize, CALLBACK, login)).callback;
  }

  const follow = (client: ConsoleClient, callback: URL) => client.get(`${callback.pathname}${callback.search}`);

  async function signIn(login: string, client = consoleClient(app)): Promise<ConsoleClient & { html: string }> {
    const res = await follow(client, await toCallback(client, login));
    const html = await res.text();
    if (res.status !== 200) throw new Error(`callback answered ${res.status}: ${html.slice(0, 400)}`);
    return Object.assign(client, { html });
  }

  /** Edits a field of the pending sign-in's cookie, as a browser's owner (or a bug) could. */
  function editPending(client: ConsoleClient, change: (pending: Record<string, string>) => void): void {
    const raw = client.jar.cookies.get(PENDING);
    if (!raw) throw new Error('no pending sign-in cookie');
    const pending = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Record<string, string>;
    change(pending);
    client.jar.cookies.set(PENDING, Buffer.from(JSON.stringify(pending)).toString('base64url'));
  }

  it('offers the city account on the sign-in page, and token sign-in beside it', async () => {
    const html = await consoleClient(app).page('/console/login?next=%2Fconsole%2Faudit');
    expect(html).toContain('自治体のアカウントでサインイン');
    expect(html).toContain('Sign in with the city account');
    expect(html).toContain('href="/console/oidc/start?next=%2Fconsole%2Faudit"');
    expect(html).toContain('name="token"');
  });

  it('asks for the code with PKCE S256, a state and a nonce, kept in a Lax cookie for the way back', async () => {
    const client = consoleClient(app);
    const start = await client.get('/console/oidc/start?next=https%3A%2F%2Fevil.example%2F');
    const url = new URL(start.headers.get('location') ?? '');
    expect(url.searchParams.get('response_type')).toBe('code');
    expect(url.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(url.searchParams.get('redirect_uri')).toBe(CALLBACK);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(url.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(url.searchParams.get('scope')?.split(' ')).toContain('openid');
    const cookie = start.headers.getSetCookie().find((c) => c.startsWith(`${PENDING}=`)) ?? '';
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/Secure/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Max-Age=600/i);
    // The verifier never leaves for the provider; a ?next= off the console is dropped.
    let pending: Record<string, string> = {};
    editPending(client, (p) => {
      pending = { ...p };
    });
    expect(url.href).not.toContain(pending.verifier);
    expect(pending.next).toBe('/console/notices');
  });

  it('signs a person in as themselves: their role from the claim, a new session, approvals in their name', async () => {
    const client = await signIn('yamada');
    // A page that goes on by itself (a same-site navigation, so the Strict cookie goes with it).
    expect(client.html).toContain('<meta http-equiv="refresh" content="0;url=/console/approvals"/>');
    expect(client.jar.cookies.has(SESSION)).toBe(true);
    expect(client.jar.cookies.has(PENDING)).toBe(false);
    const page = await client.page('/console/approvals');
    expect(page).toContain('山田 太郎 (yamada@city.yamaga.example)');
    expect(page).toContain('承認者(approver)');

    const rows = await deps.store.tokens.list();
    const person = rows.find((t) => t.name === '山田 太郎 (yamada@city.yamaga.example)');
    expect(person).toMatchObject({ kind: 'oidc', role: 'approver', revokedAt: null });
    const audit = await deps.store.audit.list({ limit: 20, action: 'console.signin' });
    expect(audit[0]).toMatchObject({ actor: '山田 太郎 (yamada@city.yamaga.example)', target: `token:${person?.id}` });

    // The approval names the person, and their identity row is the approver of record.
    const author = await staffClient(deps, 'author', '防災課 作成者');
    const id = await postNotice(author, {
      title: '個人アカウントで承認',
      severity: 'emergency',
      requestApproval: true,
    });
    await client.page(`/console/notices/${id}`);
    const approved = await client.post(`/console/notices/${id}/approve`, { comment: '確認しました' });
    expect(approved.status).toBe(303);
    const steps = await deps.store.approvals.list(id);
    expect(steps.at(-1)).toMatchObject({
      decision: 'approved',
      actor: '山田 太郎 (yamada@city.yamaga.example)',
      actorTokenId: person?.id,
    });

    // Signing in again is the same person (no second identity), with the role the provider gives today.
    idp.accounts.set('yamada', { ...PEOPLE.yamada, roles: ['approver', 'admin'] });
    const again = await signIn('yamada');
    expect((await again.get('/console/tokens')).status).toBe(200);
    const after = (await deps.store.tokens.list()).filter((t) => t.name.startsWith('山田 太郎 (yamada@'));
    expect(after.map((t) => [t.id, t.role])).toEqual([[person?.id, 'admin']]);
    idp.accounts.set('yamada', { ...PEOPLE.yamada });

    // A namesake is another person, named apart.
    const namesake = await signIn('yamada2');
    expect(await namesake.page('/console/notices')).toContain('山田 太郎 (yamada.t@city.yamaga.example)');
  });

  it('takes a role given as one string, and gives a new session id over one the browser brought', async () => {
    const client = await signedInConsole(app, deps.store.tokens, 'author', 'フィクセーション確認');
    const before = client.jar.cookies.get(SESSION);
    await signIn('sato', client);
    const after = client.jar.cookies.get(SESSION);
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    // The session the browser came with is gone on the server.
    const replay = await app.request(`${ORIGIN}/console/notices`, { headers: { cookie: `${SESSION}=${before}` } });
    expect(replay.status).toBe(303);
    expect(await client.page('/console/notices')).toContain('佐藤 花子 (sato@city.yamaga.example)（作成者(author)）');
  });

  it('names a person apart when a live token already has their name', async () => {
    await deps.store.tokens.create('危機管理監', 'approver');
    const client = await signIn('kiki');
    expect(await client.page('/console/notices')).toContain('危機管理監 [idp-0006]');
    // Again: still the same person under the same name, not a second identity.
    await signIn('kiki');
    expect((await deps.store.tokens.list()).filter((t) => t.name.startsWith('危機管理監')).map((t) => t.name)).toEqual([
      '危機管理監',
      '危機管理監 [idp-0006]',
    ]);
  });

  it('refuses a person whose claim names no Hibiki role, saying to ask the administrator, and ends their sessions', async () => {
    for (const login of ['suzuki', 'tanaka']) {
      const client = consoleClient(app);
      const res = await follow(client, await toCallback(client, login));
      expect(res.status, login).toBe(403);
      const html = await res.text();
      expect(html).toContain('管理者に役割の割り当てを依頼してください');
      expect(html).toContain('Ask the administrator');
      expect(html).toContain('「roles」');
      expect(client.jar.cookies.has(SESSION)).toBe(false);
    }
    // A role taken away at the provider ends the person's console sessions at their next sign-in anywhere.
    const earlier = await signIn('sato');
    expect((await earlier.get('/console/notices')).status).toBe(200);
    idp.accounts.set('sato', { ...PEOPLE.sato, roles: [] });
    try {
      const elsewhere = consoleClient(app);
      expect((await follow(elsewhere, await toCallback(elsewhere, 'sato'))).status).toBe(403);
      expect((await earlier.get('/console/notices')).status).toBe(303);
    } finally {
      idp.accounts.set('sato', { ...PEOPLE.sato });
    }
    const restored = await signIn('sato');
    expect((await restored.get('/console/notices')).status).toBe(200);
  });

  it('refuses an answer whose state is not the one this browser sent', async () => {
    const client = consoleClient(app);
    const callback = await toCallback(client, 'yamada');
    callback.searchParams.set('state', 'an-attackers-state-value-000000000000');
    const res = await follow(client, callback);
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('could not be verified');
    expect(client.jar.cookies.has(SESSION)).toBe(false);

    // An attacker's own callback (their code and state) in a victim's browser matches nothing there.
    const attacker = consoleClient(app);
    const planted = await toCallback(attacker, 'suzuki');
    const victim = consoleClient(app);
    await victim.get('/console/oidc/start');
    expect((await follow(victim, planted)).status).toBe(401);
    expect(victim.jar.cookies.has(SESSION)).toBe(false);
    // And a callback with no sign-in started at all.
    const stranger = consoleClient(app);
    const none = await follow(stranger, await toCallback(consoleClient(app), 'yamada'));
    expect(none.status).toBe(400);
    expect(await none.text()).toContain('Sign in again');
  });

  it('refuses an ID token whose nonce is not the one sent, and a code redeemed without the PKCE verifier', async () => {
    const nonce = consoleClient(app);
    const first = await toCallback(nonce, 'yamada');
    editPending(nonce, (p) => {
      p.nonce = 'not-the-nonce-sent-to-the-provider-000000';
    });
    expect((await follow(nonce, first)).status).toBe(401);
    expect(nonce.jar.cookies.has(SESSION)).toBe(false);

    const pkce = consoleClient(app);
    const second = await toCallback(pkce, 'yamada');
    editPending(pkce, (p) => {
      p.verifier = 'a-verifier-that-does-not-match-the-challenge-sent-0000000';
    });
    expect((await follow(pkce, second)).status).toBe(401);
    expect(pkce.jar.cookies.has(SESSION)).toBe(false);
  });

  it('refuses an ID token changed on its way from the provider (signature), or issued for another client', async () => {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const cases: [string, (idToken: string) => string][] = [
      [
        // Suzuki has no role at the provider: a role written into his token must not make him an admin.
        'a role added after signing',
        (t) => {
          const [h, p, s] = t.split('.');
          const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
          return [h, b64({ ...claims, roles: ['admin'] }), s].join('.');
        },
      ],
      ['no signature (alg none)', (t) => [b64({ alg: 'none' }), t.split('.')[1], ''].join('.')],
      [
        'another audience',
        (t) => {
          const [h, p, s] = t.split('.');
          const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
          return [h, b64({ ...claims, aud: 'another-client' }), s].join('.');
        },
      ],
    ];
    try {
      for (const [what, tamper] of cases) {
        idp.tamperTokenResponse = (body) => ({ ...body, id_token: tamper(String(body.id_token)) });
        const client = consoleClient(app);
        const res = await follow(client, await toCallback(client, 'suzuki'));
        expect(res.status, what).toBe(401);
        expect(client.jar.cookies.has(SESSION), what).toBe(false);
      }
    } finally {
      idp.tamperTokenResponse = undefined;
    }
  });

  it('gives nothing for a replayed callback, and says so when the person cancels at the provider', async () => {
    const client = consoleClient(app);
    const callback = await toCallback(client, 'sato');
    const kept = client.jar.cookies.get(PENDING) ?? '';
    expect((await follow(client, callback)).status).toBe(200);
    // The same answer again: the pending sign-in is spent…
    const replay = consoleClient(app);
    expect((await follow(replay, callback)).status).toBe(400);
    // …and even with its cookie put back, the provider will not redeem a code twice.
    replay.jar.cookies.set(PENDING, kept);
    expect((await follow(replay, callback)).status).toBe(401);
    expect(replay.jar.cookies.has(SESSION)).toBe(false);

    const cancelling = consoleClient(app);
    const start = await cancelling.get('/console/oidc/start');
    const { callback: cancelled } = await visitProvider(start.headers.get('location') ?? '', CALLBACK, 'yamada', {
      cancel: true,
    });
    expect(cancelled.searchParams.get('error')).toBe('access_denied');
    const res = await follow(cancelling, cancelled);
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('サインインが取り消されたか');
  });

  it('answers any callback query and pending cookie with a refusal page: never a session, never a 5xx', async () => {
    const text = fc.string({ maxLength: 80 });
    const pendingShaped = fc
      .record({ state: text, nonce: text, verifier: text, next: fc.oneof(text, fc.constant('//evil.example')) })
      .map((p) => Buffer.from(JSON.stringify(p)).toString('base64url'));
    const cookie = fc.option(fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{0,120}$/), pendingShaped), { nil: undefined });
    const param = fc.option(text, { nil: undefined });
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          code: param,
          state: param,
          iss: fc.option(fc.oneof(fc.constant(idp.issuer), text), { nil: undefined }),
          error: param,
          cookie,
        }),
        async (d) => {
          const url = new URL(CALLBACK);
          for (const k of ['code', 'state', 'iss', 'error'] as const) {
            const v = d[k];
            if (v !== undefined) url.searchParams.set(k, v);
          }
          const res = await app.request(url.href, {
            headers: d.cookie === undefined ? {} : { cookie: `${PENDING}=${d.cookie}` },
          });
          const html = await res.text();
          expect([400, 401], `${url.search} → ${res.status}: ${html.slice(0, 200)}`).toContain(res.status);
          expect(html).toMatch(/<html[^>]*lang="ja"/);
          expect(res.headers.getSetCookie().some((c) => c.startsWith(`${SESSION}=`) && !/Max-Age=0/i.test(c))).toBe(
            false,
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('never lets a person row be used as a bearer token', async () => {
    const rows = (await deps.store.tokens.list()).filter((t) => t.kind === 'oidc');
    expect(rows.length).toBeGreaterThan(0);
    const hashes = await deps.store.db.kysely
      .selectFrom('staff_tokens')
      .select('token_hash')
      .where('oidc_subject', 'is not', null)
      .execute();
    // The hash is of a secret nobody kept; even its hash as a token is refused.
    for (const { token_hash } of hashes) expect(await deps.store.tokens.verify(token_hash)).toBeUndefined();
  });
});

describe('city-account sign-in when the provider cannot be reached, and its settings', () => {
  it('answers 503 with Retry-After and offers token sign-in, instead of an error', async () => {
    const deps = await createTestDeps({
      env: { OIDC_ISSUER: 'http://127.0.0.1:9', OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET },
    });
    try {
      const client = consoleClient(createApp(deps));
      const res = await client.get('/console/oidc/start');
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('30');
      const html = await res.text();
      expect(html).toContain('ID プロバイダーに接続できませんでした');
      expect(html).toContain('sign in with a token');
    } finally {
      await deps.dispose();
    }
  });

  it('stops start-up on half the settings or a plain-http provider off loopback, naming the variable', () => {
    expect(configErrorOf({ OIDC_ISSUER: 'https://idp.city.example' })).toMatch(
      /OIDC_CLIENT_ID: .*set all of OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET/,
    );
    const secretLess = configErrorOf({ OIDC_ISSUER: 'https://idp.city.example', OIDC_CLIENT_ID: 'x' });
    expect(secretLess).toMatch(/^OIDC_CLIENT_SECRET: /m);
    expect(
      configErrorOf({ OIDC_ISSUER: 'http://idp.city.example', OIDC_CLIENT_ID: 'x', OIDC_CLIENT_SECRET: 'y' }),
    ).toMatch(/OIDC_ISSUER: https/);
    expect(
      configErrorOf({
        OIDC_ISSUER: 'https://idp.city.example',
        OIDC_CLIENT_ID: 'x',
        OIDC_CLIENT_SECRET: 'y',
        OIDC_REDIRECT_URL: 'https://hibiki.city.example/callback',
      }),
    ).toMatch(/OIDC_REDIRECT_URL: its path must be \/console\/oidc\/callback/);
    // The secret is never echoed.
    expect(configErrorOf({ OIDC_CLIENT_SECRET: 'never-shown-secret' })).not.toContain('never-shown-secret');
  });
});
