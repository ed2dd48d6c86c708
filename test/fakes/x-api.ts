import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import twitterText from 'twitter-text';
import { createStorm, type Storm } from './storm.ts';

/**
 * A local X API v2 that speaks what Hibiki uses (POST /2/tweets) and checks what X
 * checks: the OAuth 1.0a HMAC-SHA1 signature recomputed from the consumer and token
 * secrets (with timestamp and nonce replay checks), or the OAuth 2.0 bearer token; the
 * weighted length (twitter-text, 280); X's refusal of a text identical to a recent post;
 * the post being replied to existing. Faults can be switched on. Plain HTTP on 127.0.0.1.
 */

export interface XFakeCredentials {
  appKey: string;
  appSecret: string;
  accessToken: string;
  accessSecret: string;
}

export interface XFakeOptions {
  /** The city account's OAuth 1.0a keys the fake accepts. */
  oauth1?: XFakeCredentials;
  /** An OAuth 2.0 user token the fake accepts as `Authorization: Bearer …`. */
  oauth2Token?: string;
  /** A new text identical to one of this many latest posts is refused as duplicate content; default 100. */
  duplicateWindow?: number;
}

export interface XFakePost {
  id: string;
  text: string;
  /** in_reply_to_tweet_id, or null for a post that starts a conversation. */
  replyTo: string | null;
  auth: 'oauth1' | 'oauth2';
}

export interface XFakeRequest {
  method: string;
  path: string;
  status: number;
  auth: 'oauth1' | 'oauth2' | 'none';
  text?: string;
  replyTo?: string | null;
  /** Date.now() when the request arrived, and when its answer went out (unset while unanswered). */
  at?: number;
  answeredAt?: number;
}

export interface XFake {
  port: number;
  /** e.g. http://127.0.0.1:43210, the value for X_API_BASE_URL. */
  url: string;
  /** Accepted posts in order. */
  readonly posts: XFakePost[];
  /** Every request and how it was answered, refused ones included. */
  readonly requests: XFakeRequest[];
  /** Answers the next `count` POST /2/tweets with this status (and headers), e.g. 429 with x-rate-limit-reset, 503. */
  failNext(count: number, status: number, headers?: Record<string, string>, body?: unknown): void;
  /**
   * Closes the connection of the next `count` POST /2/tweets without an answer. With
   * afterAccept the post is stored first: X took it, the answer was lost on the way.
   */
  dropNext(count: number, options?: { afterAccept?: boolean }): void;
  /** Leaves the next `count` POST /2/tweets unanswered (until close()), as a hung connection does. */
  stallNext(count: number): void;
  /** Provider storm phases (5xx at random, 429 with Retry-After, no answer), switched at run time. */
  readonly storm: Storm;
  /** From now on every credential is refused with 401, as after the keys were regenerated. */
  revokeCredentials(): void;
  restoreCredentials(): void;
  /** Resolves once `count` posts have been accepted. */
  waitForPosts(count: number, timeoutMs?: number): Promise<XFakePost[]>;
  /** Forgets posts, requests, faults and used nonces. */
  reset(): void;
  close(): Promise<void>;
}

/** RFC 3986 percent-encoding, as OAuth 1.0a (RFC 5849 §3.6) requires. */
export function oauthEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The OAuth 1.0a signature of a request, as RFC 5849 §3.4 defines it. */
export function oauth1Signature(
  method: string,
  baseUrl: string,
  params: Array<[string, string]>,
  consumerSecret: string,
  tokenSecret: string,
): string {
  const normalised = params
    .map(([k, v]) => [oauthEncode(k), oauthEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak === bk ? (av < bv ? -1 : av > bv ? 1 : 0) : ak < bk ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const base = [method.toUpperCase(), oauthEncode(baseUrl), oauthEncode(normalised)].join('&');
  return createHmac('sha1', `${oauthEncode(consumerSecret)}&${oauthEncode(tokenSecret)}`)
    .update(base)
    .digest('base64');
}

function parseOAuthHeader(header: string): Map<string, string> | undefined {
  if (!/^OAuth\s+/i.test(header)) return undefined;
  const params = new Map<string, string>();
  for (const m of header.replace(/^OAuth\s+/i, '').matchAll(/([A-Za-z0-9_-]+)="([^"]*)"/g)) {
    params.set(decodeURIComponent(m[1] as string), decodeURIComponent(m[2] as string));
  }
  return params;
}

function sameSecret(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

// X's problem documents, as its API v2 answers them.
const UNAUTHORIZED = { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' };
const DUPLICATE = {
  detail: 'You are not allowed to create a Tweet with duplicate content.',
  type: 'about:blank',
  title: 'Forbidden',
  status: 403,
};
const REPLY_GONE = {
  detail: 'You attempted to reply to a Tweet that is deleted or not visible to you.',
  type: 'about:blank',
  title: 'Forbidden',
  status: 403,
};
const invalidRequest = (message: string) => ({
  errors: [{ parameters: {}, message }],
  title: 'Invalid Request',
  detail: 'One or more parameters to your request was invalid.',
  type: 'https://api.twitter.com/2/problems/invalid-request',
});

export async function startXFake(options: XFakeOptions = {}): Promise<XFake> {
  const duplicateWindow = options.duplicateWindow ?? 100;
  const posts: XFakePost[] = [];
  const requests: XFakeRequest[] = [];
  const nonces = new Set<string>();
  const faults: Array<{ status: number; headers: Record<string, string>; body: unknown }> = [];
  let drops: Array<{ afterAccept: boolean }> = [];
  let stalls = 0;
  const storm = createStorm();
  let stormErrors = 0;
  let revoked = false;
  // Snowflake-like: 19 digits, growing with each post, as X's ids are.
  let nextId = 1_866_000_000_000_000_000n;
  let waiters: Array<{ count: number; resolve: () => void }> = [];

  const answer = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const json = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(json),
      ...headers,
    });
    res.end(json);
  };

  /** Who is calling, or why not. */
  function authenticate(req: IncomingMessage, path: string): 'oauth1' | 'oauth2' | { refused: string } {
    const header = req.headers.authorization ?? '';
    if (revoked) return { refused: 'credentials revoked' };
    const bearer = /^Bearer\s+(.+)$/i.exec(header);
    if (bearer) {
      return options.oauth2Token && sameSecret(bearer[1] as string, options.oauth2Token)
        ? 'oauth2'
        : { refused: 'unknown bearer token' };
    }
    const params = parseOAuthHeader(header);
    const keys = options.oauth1;
    if (!params || !keys) return { refused: 'no usable Authorization header' };
    if (params.get('oauth_signature_method') !== 'HMAC-SHA1') return { refused: 'signature method' };
    if (params.get('oauth_consumer_key') !== keys.appKey) return { refused: 'unknown consumer key' };
    if (params.get('oauth_token') !== keys.accessToken) return { refused: 'unknown access token' };
    const timestamp = Number(params.get('oauth_timestamp'));
    if (!Number.isFinite(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > 300) {
      return { refused: 'timestamp out of range' };
    }
    const nonce = params.get('oauth_nonce') ?? '';
    if (!nonce || nonces.has(`${timestamp}:${nonce}`)) return { refused: 'nonce reused' };
    const signature = params.get('oauth_signature') ?? '';
    const url = new URL(path, `http://${req.headers.host ?? '127.0.0.1'}`);
    const signed: Array<[string, string]> = [
      ...[...params].filter(([k]) => k !== 'oauth_signature' && k !== 'realm'),
      ...[...url.searchParams],
    ];
    // A JSON body is not part of the signature base string (RFC 5849 §3.4.1.3.1).
    const expected = oauth1Signature(
      req.method ?? 'POST',
      `${url.protocol}//${url.host.toLowerCase()}${url.pathname}`,
      signed,
      keys.appSecret,
      keys.accessSecret,
    );
    if (!sameSecret(signature, expected)) return { refused: 'signature mismatch' };
    nonces.add(`${timestamp}:${nonce}`);
    return 'oauth1';
  }

  function rateHeaders(): Record<string, string> {
    return {
      'x-rate-limit-limit': '100',
      'x-rate-limit-remaining': '99',
      'x-rate-limit-reset': String(Math.floor(Date.now() / 1000) + 900),
    };
  }

  function accept(text: string, replyTo: string | null, auth: 'oauth1' | 'oauth2'): XFakePost {
    const post = { id: String(nextId++), text, replyTo, auth };
    posts.push(post);
    const ready = waiters.filter((w) => posts.length >= w.count);
    waiters = waiters.filter((w) => posts.length < w.count);
    for (const w of ready) w.resolve();
    return post;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const at = Date.now();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    const record = (status: number, auth: XFakeRequest['auth'], extra: Partial<XFakeRequest> = {}) =>
      requests.push({ method, path, status, auth, ...extra, at, ...(status > 0 ? { answeredAt: Date.now() } : {}) });

    if (method !== 'POST' || new URL(path, 'http://x').pathname !== '/2/tweets') {
      record(404, 'none');
      return answer(res, 404, { title: 'Not Found Error', type: 'about:blank', status: 404, detail: 'Not Found' });
    }
    const auth = authenticate(req, path);
    if (typeof auth !== 'string') {
      record(401, 'none');
      return answer(res, 401, UNAUTHORIZED);
    }
    let payload: { text?: unknown; reply?: { in_reply_to_tweet_id?: unknown } };
    try {
      payload = JSON.parse(raw);
    } catch {
      record(400, auth);
      return answer(res, 400, invalidRequest('Request body is not valid JSON'));
    }
    const text = typeof payload.text === 'string' ? payload.text : undefined;
    const replyTo = typeof payload.reply?.in_reply_to_tweet_id === 'string' ? payload.reply.in_reply_to_tweet_id : null;
    const seen = { text, replyTo };

    const verdict = storm.decide();
    if (verdict?.kind === 'hang') {
      record(0, auth, seen);
      return storm.hold(() => res.destroy());
    }
    if (verdict?.kind === 'rate-limit') {
      record(429, auth, seen);
      // X sends its window's reset; the Retry-After is for clients that read only that.
      const reset = Math.ceil(Date.now() / 1000 + verdict.retryAfterSeconds);
      return answer(
        res,
        429,
        { title: 'Too Many Requests', type: 'about:blank', status: 429, detail: 'Too Many Requests' },
        {
          'retry-after': String(verdict.retryAfterSeconds),
          'x-rate-limit-limit': '100',
          'x-rate-limit-remaining': '0',
          'x-rate-limit-reset': String(reset),
        },
      );
    }
    if (verdict?.kind === 'error') {
      const status = stormErrors++ % 2 === 0 ? 500 : 503;
      record(status, auth, seen);
      return answer(res, status, { title: 'Service Unavailable', type: 'about:blank', status, detail: 'storm' });
    }

    const fault = faults.shift();
    if (fault) {
      record(fault.status, auth, seen);
      return answer(res, fault.status, fault.body, fault.headers);
    }
    if (stalls > 0) {
      stalls--;
      record(0, auth, seen);
      return;
    }
    const drop = drops.shift();
    if (drop && !drop.afterAccept) {
      record(0, auth, seen);
      req.socket.destroy();
      return;
    }

    if (text === undefined || text.trim() === '') {
      record(400, auth, seen);
      return answer(res, 400, invalidRequest('$.text: is missing but it is required'));
    }
    const parsed = twitterText.parseTweet(text);
    if (parsed.weightedLength > 280 || !parsed.valid) {
      record(400, auth, seen);
      return answer(
        res,
        400,
        invalidRequest(
          `Your Tweet text is too long (weighted length ${parsed.weightedLength} of 280) or holds invalid characters.`,
        ),
      );
    }
    if (replyTo !== null && !posts.some((p) => p.id === replyTo)) {
      record(403, auth, seen);
      return answer(res, 403, REPLY_GONE);
    }
    if (posts.slice(-duplicateWindow).some((p) => p.text === text)) {
      record(403, auth, seen);
      return answer(res, 403, DUPLICATE);
    }
    const post = accept(text, replyTo, auth);
    if (drop?.afterAccept) {
      record(0, auth, seen);
      req.socket.destroy();
      return;
    }
    record(201, auth, seen);
    return answer(
      res,
      201,
      { data: { id: post.id, text: post.text, edit_history_tweet_ids: [post.id] } },
      rateHeaders(),
    );
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) answer(res, 500, { title: 'Internal Error', detail: String(err) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    posts,
    requests,
    failNext(count, status, headers = {}, body) {
      const problem = body ?? {
        title: status === 429 ? 'Too Many Requests' : 'Service Unavailable',
        type: 'about:blank',
        status,
        detail: status === 429 ? 'Too Many Requests' : 'Service Unavailable',
      };
      for (let i = 0; i < count; i++) faults.push({ status, headers, body: problem });
    },
    dropNext(count, dropOptions = {}) {
      for (let i = 0; i < count; i++) drops.push({ afterAccept: dropOptions.afterAccept ?? false });
    },
    stallNext(count) {
      stalls += count;
    },
    storm,
    revokeCredentials() {
      revoked = true;
    },
    restoreCredentials() {
      revoked = false;
    },
    waitForPosts(count, timeoutMs = 15_000) {
      if (posts.length >= count) return Promise.resolve(posts.slice());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`X fake: timed out waiting for ${count} posts, got ${posts.length}`)),
          timeoutMs,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(posts.slice());
          },
        });
      });
    },
    reset() {
      posts.length = 0;
      requests.length = 0;
      nonces.clear();
      faults.length = 0;
      drops = [];
      stalls = 0;
      revoked = false;
      storm.set({ kind: 'calm' });
    },
    close() {
      storm.release();
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
