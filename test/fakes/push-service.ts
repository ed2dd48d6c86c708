import {
  createDecipheriv,
  createECDH,
  createPublicKey,
  type ECDH,
  hkdfSync,
  type KeyObject,
  randomBytes,
  randomUUID,
  verify,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createStorm, type Storm } from './storm.ts';

/**
 * A local Web Push service (RFC 8030) that checks what a real one checks, and also plays
 * the browser: it decrypts each message with the subscriber's private key (RFC 8291 over
 * RFC 8188 aes128gcm, written here with node:crypto, independent of web-push/http_ece) so
 * a test reads exactly what the phone would show.
 *
 * Checks, answered as push services answer them:
 *   - Authorization `vapid t=<JWT>, k=<key>` (RFC 8292): ES256 signature by k, `aud` = the
 *     endpoint's origin, `exp` in the future and at most 24 h away, `sub` a mailto: or
 *     https: URL → 401 otherwise; k not the applicationServerKey the subscription was made
 *     with → 403.
 *   - TTL present, a non-negative integer; Urgency one of very-low|low|normal|high; Topic
 *     at most 32 base64url characters → 400 otherwise.
 *   - Content-Encoding aes128gcm; body at most 4,096 bytes (413); one record that
 *     decrypts and ends with the last-record delimiter → 400 otherwise.
 *   - Unknown endpoint → 404.
 * Accepted messages get 201 with a Location. Faults per subscription: answer(endpoint, status).
 *
 * The TLS certificate is test/fixtures/push/cert.pem (self-signed for 127.0.0.1; see the
 * README there); clients trust it through agent().
 */

const FIXTURES = fileURLToPath(new URL('../fixtures/push/', import.meta.url));
export const PUSH_CERT = readFileSync(`${FIXTURES}cert.pem`, 'utf8');
const PUSH_KEY = readFileSync(`${FIXTURES}key.pem`, 'utf8');

export const MAX_BODY_BYTES = 4_096;
const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);

export interface VapidClaims {
  aud: string;
  exp: number;
  sub: string;
  /** The k= key that signed. */
  key: string;
}

/** What a request looked like, accepted or not. */
export interface PushRequest {
  /** The subscription's id (the last path segment); never the full endpoint in messages. */
  subscription: string;
  status: number;
  /** Why it was refused, when it was. */
  refused?: string;
  ttl: number | undefined;
  urgency: string | undefined;
  topic: string | undefined;
  bodyBytes: number;
  /** Date.now() when the request arrived, and when its answer went out (unset while unanswered). */
  at: number;
  answeredAt?: number;
}

/** An accepted message, decrypted. */
export interface PushMessage {
  subscription: string;
  endpoint: string;
  ttl: number;
  /** RFC 8030 default 'normal' when the header is absent. */
  urgency: string;
  topic: string | undefined;
  vapid: VapidClaims;
  /** The encrypted body's size, what the 4 KB limit applies to. */
  encryptedBytes: number;
  /** The decrypted payload as the service worker's event.data.text() would give it. */
  text: string;
  /** JSON.parse(text), or undefined when it is not JSON. */
  json: unknown;
  receivedAt: Date;
}

/** A subscription as a browser makes it (PushManager.subscribe), with the private half only the browser holds. */
export interface BrowserSubscription {
  endpoint: string;
  expirationTime: null;
  keys: { p256dh: string; auth: string };
  /** The subscription's id in the fake. */
  id: string;
  /** The browser's ECDH key pair and auth secret, to decrypt. */
  ecdh: ECDH;
  authSecret: Buffer;
  /** PushSubscription.toJSON(): what a page POSTs to the application server. */
  toJSON(): { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
}

interface Fault {
  status: number;
  headers: Record<string, string>;
  /** Requests left to answer this way; Infinity for a subscription that is gone. */
  remaining: number;
}

interface Registered {
  sub: BrowserSubscription;
  applicationServerKey: string;
}

export interface PushService {
  /** https://127.0.0.1:<port> */
  origin: string;
  /** The certificate to trust (PEM). */
  cert: string;
  /** A keep-alive agent that trusts this service; each call makes a new one. */
  agent(options?: https.AgentOptions): https.Agent;
  /**
   * What PushManager.subscribe({ applicationServerKey }) does: a new endpoint on this
   * service, with a fresh P-256 key pair and auth secret, bound to that VAPID key.
   */
  subscribe(options: { applicationServerKey: string; id?: string }): BrowserSubscription;
  /** The browser unsubscribed (or the subscription expired): the endpoint answers 410 from now on. */
  expire(endpoint: string): void;
  /** Every request in arrival order. */
  readonly requests: PushRequest[];
  /** Every accepted message in arrival order (decrypted by the time it is read). */
  readonly messages: PushMessage[];
  /** on-read mode: messages that did not decrypt, with the reason; must stay empty. */
  readonly undecryptable: string[];
  messagesFor(endpoint: string): PushMessage[];
  /** How many messages each subscription id has accepted, without decrypting any (cheap for fault tests). */
  receivedCounts(): Map<string, number>;
  /** Answers requests for one subscription with this status (404/410/429/500…), `count` times (default: always). */
  answer(endpoint: string, status: number, options?: { count?: number; headers?: Record<string, string> }): void;
  /** Answers the next `count` requests, for any subscription, with this status. */
  failNext(count: number, status: number, headers?: Record<string, string>): void;
  /** Waits this long before answering each request (to see how many a sender keeps in flight). */
  setDelay(ms: number): void;
  /** Provider storm phases (5xx at random, 429 with Retry-After, no answer), switched at run time. */
  readonly storm: Storm;
  /** The most requests that were being answered at once. */
  readonly maxInFlight: number;
  /** TLS connections opened so far (a keep-alive sender opens few). */
  readonly connections: number;
  /** Distinct VAPID tokens (Authorization headers) that verified so far: a sender that reuses its JWT shows few. */
  readonly vapidTokens: number;
  /** Resolves once `count` messages were accepted in all; rejects after timeoutMs saying how many came. */
  waitFor(count: number, timeoutMs?: number): Promise<PushMessage[]>;
  reset(): void;
  close(): Promise<void>;
}

// ---- RFC 8291 / RFC 8188 decryption ---------------------------------------------------

/** Decrypts an aes128gcm Web Push body for the browser that holds `ecdh` and `authSecret`; throws saying what is wrong. */
export function decryptPushBody(body: Buffer, ecdh: ECDH, authSecret: Buffer): Buffer {
  // RFC 8188 §2.1 header: salt (16) | rs (uint32) | idlen (1) | keyid (idlen).
  if (body.length < 21) throw new Error('body shorter than the aes128gcm header');
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20] as number;
  if (rs < 18) throw new Error(`record size ${rs} is below the minimum of 18`);
  // RFC 8291 §4: the key id is the application server's ephemeral public key.
  if (idlen !== 65) throw new Error(`keyid is ${idlen} bytes, not a 65-byte P-256 public key`);
  const asPublic = body.subarray(21, 21 + idlen);
  const records = body.subarray(21 + idlen);
  // RFC 8291 §4: a push message is one record.
  if (records.length > rs) throw new Error(`${records.length} bytes of records exceed one record of ${rs} bytes`);
  if (records.length < 17) throw new Error('record shorter than the GCM tag plus a delimiter');

  // RFC 8291 §3.4: combine the ECDH secret with the auth secret, then RFC 8188 §2.2 for key and nonce.
  const uaPublic = ecdh.getPublicKey();
  const ecdhSecret = ecdh.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, authSecret, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));

  // Record 0: the nonce XOR the sequence number 0 is the nonce itself.
  const tag = records.subarray(records.length - 16);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(tag);
  const padded = Buffer.concat([decipher.update(records.subarray(0, records.length - 16)), decipher.final()]);
  // RFC 8188 §2: data | delimiter (0x02 for the last record) | zero padding.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0) throw new Error('record has no padding delimiter');
  if (padded[end] !== 0x02) throw new Error(`delimiter is 0x${padded[end]?.toString(16)}, not 0x02 (last record)`);
  return padded.subarray(0, end);
}

// ---- VAPID (RFC 8292) --------------------------------------------------------------------

/** A raw 65-byte P-256 point (base64url) as a key object; throws when it is not on the curve. */
export function p256PublicKey(raw: string): KeyObject {
  const bytes = Buffer.from(raw, 'base64url');
  if (bytes.length !== 65 || bytes[0] !== 0x04) throw new Error('not a 65-byte uncompressed P-256 point');
  return createPublicKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: bytes.subarray(1, 33).toString('base64url'),
      y: bytes.subarray(33, 65).toString('base64url'),
    },
    format: 'jwk',
  });
}

/** Checks a VAPID Authorization header for an endpoint origin; returns the claims or the reason it fails. */
export function verifyVapid(
  header: string | undefined,
  audience: string,
  nowSeconds: number,
): { ok: true; claims: VapidClaims } | { ok: false; reason: string } {
  if (!header) return { ok: false, reason: 'no Authorization header' };
  const m = /^vapid\s+(.+)$/i.exec(header.trim());
  if (!m) return { ok: false, reason: 'Authorization is not the vapid scheme' };
  const params = new Map<string, string>();
  for (const part of (m[1] as string).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const t = params.get('t');
  const k = params.get('k');
  if (!t || !k) return { ok: false, reason: 'vapid needs both t= and k=' };
  const parts = t.split('.');
  if (parts.length !== 3) return { ok: false, reason: 't is not a JWS compact serialisation' };
  const [h, p, s] = parts as [string, string, string];
  let jwtHeader: { alg?: string; typ?: string };
  let claims: { aud?: unknown; exp?: unknown; sub?: unknown };
  try {
    jwtHeader = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'JWT header or claims are not JSON' };
  }
  if (jwtHeader.alg !== 'ES256') return { ok: false, reason: `JWT alg is ${String(jwtHeader.alg)}, not ES256` };
  let key: KeyObject;
  try {
    key = p256PublicKey(k);
  } catch (err) {
    return { ok: false, reason: `k is not a P-256 public key: ${(err as Error).message}` };
  }
  const signature = Buffer.from(s, 'base64url');
  const good =
    signature.length === 64 &&
    verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, signature);
  if (!good) return { ok: false, reason: 'JWT signature does not verify with k' };
  if (claims.aud !== audience) return { ok: false, reason: `aud is ${JSON.stringify(claims.aud)}, not ${audience}` };
  if (typeof claims.exp !== 'number' || !Number.isInteger(claims.exp)) return { ok: false, reason: 'exp missing' };
  if (claims.exp <= nowSeconds) return { ok: false, reason: 'JWT expired' };
  if (claims.exp > nowSeconds + 24 * 60 * 60) return { ok: false, reason: 'exp more than 24 hours ahead' };
  if (typeof claims.sub !== 'string' || !/^(mailto:|https:\/\/)/.test(claims.sub)) {
    return { ok: false, reason: 'sub missing or not mailto:/https:' };
  }
  return { ok: true, claims: { aud: claims.aud, exp: claims.exp, sub: claims.sub, key: k } };
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// ---- the service -----------------------------------------------------------------------------

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= limit + 1) chunks.push(chunk as Buffer);
  }
  return size > limit ? 'too-large' : Buffer.concat(chunks);
}

export interface PushServiceOptions {
  /**
   * on-arrival (default): decrypt each message as it comes and refuse (400) one that does
   * not decrypt, as the browser would drop it. on-read: accept it and decrypt when the
   * test reads `messages`, so a load test times the sender, not this fake's decryption;
   * messages that do not decrypt are listed in `undecryptable`.
   */
  decrypt?: 'on-arrival' | 'on-read';
}

export async function startPushService(options: PushServiceOptions = {}): Promise<PushService> {
  const lazy = options.decrypt === 'on-read';
  /** Bodies accepted in on-read mode, decrypted when `messages` is read. */
  const undecrypted: { message: PushMessage; body: Buffer; sub: BrowserSubscription }[] = [];
  const undecryptable: string[] = [];
  const registered = new Map<string, Registered>();
  const faults = new Map<string, Fault>();
  let anyFaults: Fault[] = [];
  const storm = createStorm();
  let stormErrors = 0;
  const requests: PushRequest[] = [];
  const messages: PushMessage[] = [];
  let waiters: { count: number; resolve: (m: PushMessage[]) => void }[] = [];
  let origin = '';
  let delayMs = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let connections = 0;

  const idOf = (path: string) => path.split('/').filter(Boolean).pop() ?? '';

  /**
   * A sender reuses one JWT for many messages, as push services expect: its signature is
   * checked once (the costly part), its expiry on every request.
   */
  const verified = new Map<string, VapidClaims>();
  function checkVapid(authorization: string | undefined): ReturnType<typeof verifyVapid> {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const known = authorization ? verified.get(authorization) : undefined;
    if (known && known.exp > nowSeconds) return { ok: true, claims: known };
    const result = verifyVapid(authorization, origin, nowSeconds);
    if (result.ok && authorization) verified.set(authorization, result.claims);
    return result;
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? '/').split('?')[0] as string;
    const id = idOf(path);
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const ttlHeader = header('ttl');
    const urgency = header('urgency');
    const topic = header('topic');
    const body = await readBody(req, MAX_BODY_BYTES);
    const record: PushRequest = {
      subscription: id,
      status: 0,
      ttl: ttlHeader !== undefined && /^\d+$/.test(ttlHeader) ? Number(ttlHeader) : undefined,
      urgency,
      topic,
      bodyBytes: body === 'too-large' ? MAX_BODY_BYTES + 1 : body.length,
      at: Date.now(),
    };
    requests.push(record);
    const reply = (status: number, reason?: string, headers: Record<string, string> = {}) => {
      record.status = status;
      record.answeredAt = Date.now();
      if (reason) record.refused = reason;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(status >= 400 ? JSON.stringify({ code: status, error: reason ?? 'refused' }) : '');
    };

    if (req.method !== 'POST' || !path.startsWith('/push/')) return reply(404, 'not a push endpoint');
    const sub = registered.get(id);
    if (!sub) return reply(404, 'no such subscription');

    const verdict = storm.decide();
    if (verdict?.kind === 'hang') return storm.hold(() => res.destroy());
    if (verdict?.kind === 'rate-limit') {
      return reply(429, 'storm: rate limited', { 'retry-after': String(verdict.retryAfterSeconds) });
    }
    if (verdict?.kind === 'error') return reply(stormErrors++ % 2 === 0 ? 500 : 503, 'storm: server error');

    const anyFault = anyFaults[0];
    if (anyFault) {
      if (--anyFault.remaining <= 0) anyFaults = anyFaults.slice(1);
      return reply(anyFault.status, `told to answer ${anyFault.status}`, anyFault.headers);
    }
    const fault = faults.get(id);
    if (fault && fault.remaining > 0) {
      fault.remaining--;
      return reply(fault.status, `told to answer ${fault.status}`, fault.headers);
    }

    const vapid = checkVapid(header('authorization'));
    if (!vapid.ok) return reply(401, `VAPID: ${vapid.reason}`);
    if (vapid.claims.key !== sub.applicationServerKey) {
      return reply(403, 'VAPID key is not the applicationServerKey this subscription was made with');
    }
    if (record.ttl === undefined) return reply(400, 'TTL header missing or not a non-negative integer');
    if (urgency !== undefined && !URGENCIES.has(urgency))
      return reply(400, `Urgency ${urgency} is not one of RFC 8030's`);
    if (topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(topic)) {
      return reply(400, 'Topic must be at most 32 base64url characters');
    }
    if (body === 'too-large') return reply(413, `payload larger than ${MAX_BODY_BYTES} bytes`);
    if (header('content-encoding') !== 'aes128gcm') return reply(400, 'Content-Encoding is not aes128gcm');

    let text = '';
    if (!lazy) {
      try {
        text = decryptPushBody(body, sub.sub.ecdh, sub.sub.authSecret).toString('utf8');
      } catch (err) {
        return reply(400, `payload does not decrypt (RFC 8291): ${(err as Error).message}`);
      }
    }
    const message: PushMessage = {
      subscription: id,
      endpoint: sub.sub.endpoint,
      ttl: record.ttl,
      urgency: urgency ?? 'normal',
      topic,
      vapid: vapid.claims,
      encryptedBytes: body.length,
      text,
      json: parseJson(text),
      receivedAt: new Date(),
    };
    messages.push(message);
    if (lazy) undecrypted.push({ message, body, sub: sub.sub });
    reply(201, undefined, { location: `${origin}/message/${randomUUID()}`, ttl: String(record.ttl) });
    const ready = waiters.filter((w) => messages.length >= w.count);
    waiters = waiters.filter((w) => messages.length < w.count);
    for (const w of ready) w.resolve(read());
  }

  /** Every message, the on-read ones decrypted now. */
  function read(): PushMessage[] {
    for (const { message, body, sub } of undecrypted.splice(0)) {
      try {
        message.text = decryptPushBody(body, sub.ecdh, sub.authSecret).toString('utf8');
        message.json = parseJson(message.text);
      } catch (err) {
        undecryptable.push(`${message.subscription}: ${(err as Error).message}`);
      }
    }
    return messages.slice();
  }

  const server = https.createServer({ key: PUSH_KEY, cert: PUSH_CERT, keepAliveTimeout: 30_000 }, (req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => inFlight--);
    const go = () =>
      handle(req, res).catch((err) => {
        res.writeHead(500);
        res.end(String(err));
      });
    if (delayMs > 0) setTimeout(go, delayMs);
    else go();
  });
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const agents: https.Agent[] = [];

  return {
    origin,
    cert: PUSH_CERT,
    agent(options = {}) {
      const agent = new https.Agent({ keepAlive: true, ca: PUSH_CERT, ...options });
      agents.push(agent);
      return agent;
    },
    subscribe({ applicationServerKey, id = randomUUID() }) {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const authSecret = randomBytes(16);
      const endpoint = `${origin}/push/${id}`;
      const keys = { p256dh: ecdh.getPublicKey('base64url'), auth: authSecret.toString('base64url') };
      const sub: BrowserSubscription = {
        endpoint,
        expirationTime: null,
        keys,
        id,
        ecdh,
        authSecret,
        toJSON: () => ({ endpoint, expirationTime: null, keys: { ...keys } }),
      };
      registered.set(id, { sub, applicationServerKey });
      return sub;
    },
    expire(endpoint) {
      faults.set(idOf(new URL(endpoint).pathname), { status: 410, headers: {}, remaining: Number.POSITIVE_INFINITY });
    },
    requests,
    get messages() {
      return read();
    },
    undecryptable,
    messagesFor: (endpoint) => read().filter((m) => m.endpoint === endpoint),
    receivedCounts() {
      const counts = new Map<string, number>();
      for (const m of messages) counts.set(m.subscription, (counts.get(m.subscription) ?? 0) + 1);
      return counts;
    },
    answer(endpoint, status, options = {}) {
      faults.set(idOf(new URL(endpoint).pathname), {
        status,
        headers: options.headers ?? {},
        remaining: options.count ?? Number.POSITIVE_INFINITY,
      });
    },
    failNext(count, status, headers = {}) {
      anyFaults.push({ status, headers, remaining: count });
    },
    setDelay(ms) {
      delayMs = ms;
    },
    storm,
    get maxInFlight() {
      return maxInFlight;
    },
    get connections() {
      return connections;
    },
    get vapidTokens() {
      return verified.size;
    },
    waitFor(count, timeoutMs = 20_000) {
      if (messages.length >= count) return Promise.resolve(read());
      return new Promise((resolve, reject) => {
        const waiter = { count, resolve };
        waiters.push(waiter);
        setTimeout(() => {
          if (!waiters.includes(waiter)) return;
          waiters = waiters.filter((w) => w !== waiter);
          reject(new Error(`push service: ${messages.length} of ${count} messages arrived within ${timeoutMs} ms`));
        }, timeoutMs).unref();
      });
    },
    reset() {
      requests.length = 0;
      messages.length = 0;
      undecrypted.length = 0;
      undecryptable.length = 0;
      faults.clear();
      anyFaults = [];
      maxInFlight = 0;
      connections = 0;
      delayMs = 0;
      storm.set({ kind: 'calm' });
    },
    async close() {
      storm.release();
      for (const a of agents) a.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
