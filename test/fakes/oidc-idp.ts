import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { CookieJar } from '../helpers/console.ts';

/** The claims a person has at the provider; `sub` is their account id, typed at its login form. */
export type IdpClaims = Record<string, unknown> & { sub: string };

export interface OidcIdp {
  /** e.g. http://127.0.0.1:41234: OIDC_ISSUER. */
  issuer: string;
  /** The provider's people, by login: change one's claims between sign-ins to change their role. */
  accounts: Map<string, IdpClaims>;
  /** Creates the provider with its one client, once the relying party's address is known. */
  register(client: { clientId: string; clientSecret: string; redirectUri: string }): void;
  /**
   * Set: each token response passes through this first (the body as the provider wrote it),
   * as an attacker between Hibiki and the provider would change it.
   */
  tamperTokenResponse: ((body: Record<string, unknown>) => Record<string, unknown>) | undefined;
  close(): Promise<void>;
}

/**
 * A real OpenID provider (node-oidc-provider, certified) on a local port: discovery, its
 * login and consent pages (the library's development interactions: any password), signed
 * ID tokens, the token endpoint with client authentication and PKCE, and userinfo. The
 * role claim is released under the `openid` scope, so it reaches Hibiki through userinfo.
 */
export async function startOidcIdp(
  options: { host?: 'localhost' | '127.0.0.1'; roleClaim?: string } = {},
): Promise<OidcIdp> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const idp: Partial<OidcIdp> & { accounts: Map<string, IdpClaims> } = {
    accounts: new Map(),
    tamperTokenResponse: undefined,
  };
  const server = createServer((req, res) => {
    if (!handler) {
      res.writeHead(503).end('not registered');
      return;
    }
    if (idp.tamperTokenResponse && req.method === 'POST' && req.url?.startsWith('/token')) {
      interceptJson(res, idp.tamperTokenResponse);
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://${options.host ?? '127.0.0.1'}:${port}`;
  const roleClaim = options.roleClaim ?? 'roles';
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', use: 'sig', alg: 'RS256' };

  idp.issuer = issuer;
  idp.register = ({ clientId, clientSecret, redirectUri }) => {
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: clientId,
          client_secret: clientSecret,
          redirect_uris: [redirectUri],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      jwks: { keys: [jwk] },
      claims: { openid: ['sub', roleClaim], profile: ['name'], email: ['email'] },
      pkce: { required: () => true },
      cookies: { keys: ['oidc-idp-test-cookie-key'] },
      findAccount: (_ctx: unknown, id: string) => {
        const claims = idp.accounts.get(id);
        if (!claims) return undefined;
        return { accountId: id, claims: () => ({ ...claims, sub: claims.sub }) };
      },
    });
    // Its own warnings (development interactions) are expected here.
    provider.on('server_error', () => undefined);
    handler = provider.callback();
  };
  idp.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return idp as OidcIdp;
}

/** Rewrites a JSON response body on its way out (the provider ends it in one write). */
function interceptJson(res: ServerResponse, change: (body: Record<string, unknown>) => Record<string, unknown>): void {
  const end = res.end.bind(res);
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (chunk && res.statusCode === 200) {
      const body = change(JSON.parse(Buffer.from(chunk as Buffer).toString('utf8')) as Record<string, unknown>);
      const text = JSON.stringify(body);
      res.setHeader('content-length', Buffer.byteLength(text));
      return end(text, ...(rest as []));
    }
    return end(chunk as Buffer, ...(rest as []));
  }) as typeof res.end;
}

export interface ProviderVisit {
  /** The provider's last redirect: to Hibiki's callback, with code, state and iss. */
  callback: URL;
}

/**
 * Walks the provider's pages as a person would, from the authorization address Hibiki sent
 * the browser to: follows redirects, types the login at the login form, and consents (or
 * cancels), until the provider sends the browser back to `returnTo`.
 */
export async function visitProvider(
  authorizationUrl: string,
  returnTo: string,
  login: string,
  options: { cancel?: boolean } = {},
): Promise<ProviderVisit> {
  const jar = new CookieJar();
  let url = new URL(authorizationUrl);
  for (let step = 0; step < 20; step++) {
    if (url.href.startsWith(returnTo)) return { callback: url };
    const res = await fetch(url, { headers: { cookie: jar.header() }, redirect: 'manual' });
    jar.take(res);
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url);
      continue;
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`the provider answered ${res.status}: ${html.slice(0, 300)}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`no interaction form at ${url.pathname}: ${html.slice(0, 300)}`);
    if (options.cancel) {
      const abort = /href="([^"]*\/abort)"/.exec(html)?.[1];
      if (!abort) throw new Error('no abort link on the provider page');
      url = new URL(abort, url);
      continue;
    }
    const fields: Record<string, string> = prompt === 'login' ? { prompt, login, password: 'any' } : { prompt };
    const post = await fetch(new URL(action, url), {
      method: 'POST',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
      redirect: 'manual',
    });
    jar.take(post);
    const next = post.headers.get('location');
    if (!next)
      throw new Error(`the provider's ${prompt} form answered ${post.status}: ${(await post.text()).slice(0, 300)}`);
    url = new URL(next, url);
  }
  throw new Error('the provider never sent the browser back');
}
