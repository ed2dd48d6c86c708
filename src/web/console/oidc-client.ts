import * as client from 'openid-client';
import type { Config } from '../../config.ts';
import { STAFF_ROLES, type StaffRole } from '../../domain/staff.ts';
import { TOKEN_NAME_MAX } from '../../services/tokens.ts';
export type OidcSettings = NonNullable<Config['oidc']>;

/** What the browser keeps (in a short-lived cookie) between leaving for the provider and coming back. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  /** The PKCE code verifier: the provider gave its code to whoever sends this, and only we have it. */
  verifier: string;
  next: string;
}

/** The person the provider vouched for, with the highest role their claim names (none: undefined). */
export interface VerifiedPerson {
  issuer: string;
  subject: string;
  name: string;
  role: StaffRole | undefined;
}

/**
 * Why a sign-in through the provider did not complete: the person cancelled or the provider
 * refused them ('denied'), the answer did not verify (state, nonce, PKCE, signature, a used
 * code: 'unverified'), or the provider could not be reached ('unreachable').
 */
export class OidcFailure extends Error {
  override name = 'OidcFailure';
  constructor(
    readonly reason: 'denied' | 'unverified' | 'unreachable',
    /** For the log: the library's error code, never a token or a claim. */
    readonly detail: string,
  ) {
    super(`OpenID Connect sign-in failed: ${reason} (${detail})`);
  }
}

const RANK: Record<StaffRole, number> = { author: 1, approver: 2, admin: 3 };

/** The claim's value by name, or by a dotted path into nested objects (Keycloak's realm_access.roles). */
function claimAt(claims: Record<string, unknown>, name: string): unknown {
  if (name in claims) return claims[name];
  let at: unknown = claims;
  for (const part of name.split('.')) {
    if (typeof at !== 'object' || at === null || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/**
 * The highest of author/approver/admin the role claim names: a list, or one string of
 * values separated by spaces or commas. Other values (the provider's other groups) are ignored.
 */
export function roleFromClaims(claims: Record<string, unknown>, claimName: string): StaffRole | undefined {
  const value = claimAt(claims, claimName);
  const values = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\s,]+/) : [];
  let best: StaffRole | undefined;
  for (const v of values) {
    if (typeof v !== 'string') continue;
    const role = v.trim().toLowerCase();
    if (!(STAFF_ROLES as readonly string[]).includes(role)) continue;
    if (!best || RANK[role as StaffRole] > RANK[best]) best = role as StaffRole;
  }
  return best;
}

/** Drops what does not print (the token-name rule) and cuts to the length a token name may have. */
const printable = (s: string): string =>
  s
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}]/gu, '')
    .replace(/\s+/gu, ' ')
    .trim();

/**
 * How approvals and the audit log name the person: their name with their address, which
 * tells two people of one name apart; the subject when the provider gives neither.
 */
export function personName(claims: Record<string, unknown>): string {
  const str = (k: string) => {
    const v = claims[k];
    return typeof v === 'string' ? printable(v) : '';
  };
  const name = str('name') || str('preferred_username');
  const email = str('email');
  const shown = name && email && name !== email ? `${name} (${email})` : name || email || `sub:${str('sub')}`;
  return [...shown].slice(0, TOKEN_NAME_MAX).join('');
}

function classify(err: unknown): OidcFailure {
  if (err instanceof OidcFailure) return err;
  if (err instanceof client.AuthorizationResponseError) return new OidcFailure('denied', err.error);
  if (err instanceof client.ResponseBodyError) return new OidcFailure('unverified', `token endpoint: ${err.error}`);
  const code = (err as { code?: unknown }).code;
  if (err instanceof TypeError && /fetch failed/.test(err.message))
    return new OidcFailure('unreachable', 'fetch failed');
  if (code === 'OAUTH_TIMEOUT' || code === 'OAUTH_ABORT') return new OidcFailure('unreachable', String(code));
  return new OidcFailure('unverified', typeof code === 'string' ? code : (err as Error).name || 'error');
}

/** A failed discovery is tried again after this, not on every visitor's click. */
const DISCOVERY_RETRY_MS = 10_000;

export type OidcClient = ReturnType<typeof createOidcClient>;

/**
 * The console's relying party, on openid-client: discovery once, then the authorization
 * code flow with PKCE (S256), state and nonce, and the ID token's signature, issuer,
 * audience and times checked by the library. Plain http is allowed only for an issuer
 * on loopback (config refuses it elsewhere), which is how the tests run a real provider.
 */
export function createOidcClient(settings: OidcSettings) {
  const issuer = new URL(settings.issuer);
  const insecure = issuer.protocol === 'http:';
  let configuration: Promise<client.Configuration> | undefined;
  let failedAt = 0;

  async function discover(): Promise<client.Configuration> {
    const found = await client.discovery(issuer, settings.clientId, settings.clientSecret, undefined, {
      execute: insecure ? [client.allowInsecureRequests] : [],
      timeout: 10,
    });
    // RFC 8414: a provider that lists no methods takes client_secret_basic, which every provider must.
    const methods = found.serverMetadata().token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    let chosen = found;
    if (methods.includes('client_secret_basic')) {
      chosen = new client.Configuration(
        found.serverMetadata(),
        settings.clientId,
        settings.clientSecret,
        client.ClientSecretBasic(settings.clientSecret),
      );
      if (insecure) client.allowInsecureRequests(chosen);
      chosen.timeout = 10;
    }
    // OpenID Connect lets a client skip the ID token's signature when it came straight from
    // the token endpoint over TLS; the role in it decides what a person may send to a whole
    // city, so its signature is checked against the provider's keys all the same (a proxy
    // that inspects TLS, or a bug, must not be able to write in a role).
    client.enableNonRepudiationChecks(chosen);
    return chosen;
  }

  function config(): Promise<client.Configuration> {
    if (!configuration) {
      if (Date.now() - failedAt < DISCOVERY_RETRY_MS) {
        return Promise.reject(new OidcFailure('unreachable', 'discovery failed moments ago'));
      }
      configuration = discover().catch((err: unknown) => {
        configuration = undefined;
        failedAt = Date.now();
        // Whatever went wrong, a provider without its metadata cannot sign anyone in: a wait, not a refusal.
        const failure = classify(err);
        throw failure.reason === 'unreachable'
          ? failure
          : new OidcFailure('unreachable', `discovery: ${failure.detail}`);
      });
    }
    return configuration;
  }

  return {
    /** The provider's sign-in address to send the browser to, and what to keep until it comes back. */
    async start(next: string): Promise<{ url: URL; pending: PendingSignIn }> {
      const cfg = await config().catch((err: unknown) => {
        throw classify(err);
      });
      const pending: PendingSignIn = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        verifier: client.randomPKCECodeVerifier(),
        next,
      };
      const url = client.buildAuthorizationUrl(cfg, {
        redirect_uri: settings.redirectUrl,
        scope: 'openid profile email',
        code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
        code_challenge_method: 'S256',
        state: pending.state,
        nonce: pending.nonce,
      });
      return { url, pending };
    },

    /**
     * Verifies the provider's answer (the callback's query) against what was kept, redeems
     * the code, and reads the person from the ID token, with the provider's userinfo for
     * claims it left out of the token (many put roles and names only there).
     */
    async finish(search: string, pending: PendingSignIn): Promise<VerifiedPerson> {
      try {
        const cfg = await config();
        // The address the provider sent the browser to, whatever Host a proxy in front passed on.
        const current = new URL(settings.redirectUrl);
        current.search = search;
        const tokens = await client.authorizationCodeGrant(cfg, current, {
          pkceCodeVerifier: pending.verifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        });
        const idClaims = tokens.claims();
        if (!idClaims) throw new OidcFailure('unverified', 'no ID token');
        let claims: Record<string, unknown> = { ...idClaims };
        const lacking =
          claimAt(claims, settings.roleClaim) === undefined ||
          (claims.name === undefined && claims.email === undefined);
        if (lacking && tokens.access_token) {
          const info = await client.fetchUserInfo(cfg, tokens.access_token, idClaims.sub);
          claims = { ...info, ...claims };
          if (claimAt(idClaims, settings.roleClaim) === undefined) {
            claims[settings.roleClaim] = claimAt(info, settings.roleClaim);
          }
        }
        return {
          issuer: cfg.serverMetadata().issuer,
          subject: idClaims.sub,
          name: personName(claims),
          role: roleFromClaims(claims, settings.roleClaim),
        };
      } catch (err) {
        throw classify(err);
      }
    },
  };
}
