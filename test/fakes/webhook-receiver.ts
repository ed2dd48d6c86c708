import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { createStorm, type Storm } from './storm.ts';

/**
 * A local HTTP receiver that checks what a careful webhook consumer checks: every request
 * is verified twice, by the `standardwebhooks` library (an implementation independent of
 * Hibiki's) and by recomputing the signature with node:crypto from the spec's text; a bad
 * signature or a timestamp more than 5 minutes off is answered 401 and not recorded.
 * Faults can be switched on: failNext (status and headers), a delay, a redirect.
 */

/** Standard Webhooks' tolerance, and the library's. */
export const TOLERANCE_SECONDS = 5 * 60;

export interface ReceivedRequest {
  path: string;
  method: string;
  headers: Record<string, string>;
  body: string;
  webhookId: string | undefined;
  timestamp: number | undefined;
  /** What this receiver answered. */
  status: number;
  /** Why it was refused, when it was (401). */
  refused?: string;
  /** Date.now() when the request arrived, and when its answer went out (unset while unanswered). */
  at?: number;
  answeredAt?: number;
}

export interface ReceivedDelivery {
  path: string;
  webhookId: string;
  timestamp: number;
  signature: string;
  headers: Record<string, string>;
  body: string;
  /** The parsed JSON body, as returned by standardwebhooks' verify(). */
  payload: unknown;
}

export interface WebhookReceiver {
  /** http://127.0.0.1:<port> */
  origin: string;
  /** The origin and a path: each endpoint of a test can have its own. */
  url(path?: string): string;
  /** Every request, verified or not, in arrival order. */
  readonly requests: ReceivedRequest[];
  /** Requests that passed both verifications and were answered 2xx. */
  readonly deliveries: ReceivedDelivery[];
  /** Requests where the library and the recomputation disagreed: must stay empty. */
  readonly disagreements: ReceivedRequest[];
  /** The secret (whsec_…) requests must be signed with; unset, every request is refused. */
  setSecret(secret: string | undefined): void;
  /** Answers the next `count` verified requests with this status and headers instead of 204. */
  failNext(count: number, status: number, headers?: Record<string, string>): void;
  /** Waits this long before answering each request. */
  setDelay(ms: number): void;
  /** Answers the next `count` verified requests with a redirect to `location`. */
  redirect(location: string, status?: number, count?: number): void;
  /** Provider storm phases (5xx at random, 429 with Retry-After, no answer) for verified requests, switched at run time. */
  readonly storm: Storm;
  /** Resolves once `count` deliveries were accepted; rejects after timeoutMs saying how many came. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedDelivery[]>;
  reset(): void;
  close(): Promise<void>;
}

interface Fault {
  remaining: number;
  status: number;
  headers: Record<string, string>;
}

/** The spec's signature, recomputed from its own text: HMAC-SHA256 over `id.timestamp.body`, key = base64 after whsec_. */
export function recomputeSignature(secret: string, id: string, timestamp: string, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
}

function ourCheck(secret: string, headers: Record<string, string>, body: string, nowSeconds: number): string | null {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const sig = headers['webhook-signature'];
  if (!id || !ts || !sig) return 'missing webhook-id, webhook-timestamp or webhook-signature';
  if (!/^\d+$/.test(ts)) return 'webhook-timestamp is not unix seconds';
  if (Math.abs(nowSeconds - Number(ts)) > TOLERANCE_SECONDS) return 'timestamp outside the 5-minute tolerance';
  const expected = Buffer.from(recomputeSignature(secret, id, ts, body));
  // The header may carry several space-separated signatures (during a key rotation).
  for (const entry of sig.split(' ')) {
    const [version, value] = entry.split(',');
    if (version !== 'v1' || !value) continue;
    const given = Buffer.from(value);
    if (given.length === expected.length && timingSafeEqual(given, expected)) return null;
  }
  return 'no matching v1 signature';
}

function libraryCheck(
  secret: string,
  headers: Record<string, string>,
  body: string,
): { ok: true; payload: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, payload: new Webhook(secret).verify(body, headers) };
  } catch (err) {
    const reason = err instanceof WebhookVerificationError ? err.message : `verify threw: ${String(err)}`;
    return { ok: false, reason };
  }
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export async function startWebhookReceiver(options: { secret?: string } = {}): Promise<WebhookReceiver> {
  let secret = options.secret;
  let delayMs = 0;
  let faults: Fault[] = [];
  const storm = createStorm();
  let stormErrors = 0;
  const requests: ReceivedRequest[] = [];
  const deliveries: ReceivedDelivery[] = [];
  const disagreements: ReceivedRequest[] = [];
  const waiters = new Set<() => void>();
  // reset() starts a new generation: a slow request of an earlier test records nothing in this one.
  let generation = 0;

  const answer = (res: ServerResponse, status: number, headers: Record<string, string> = {}, text = '') => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(text);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = flatHeaders(req);
      const tsHeader = headers['webhook-timestamp'];
      const record: ReceivedRequest = {
        path: req.url ?? '/',
        method: req.method ?? '',
        headers,
        body,
        webhookId: headers['webhook-id'],
        timestamp: tsHeader && /^\d+$/.test(tsHeader) ? Number(tsHeader) : undefined,
        status: 0,
        at: Date.now(),
      };
      res.on('finish', () => {
        record.answeredAt = Date.now();
      });
      requests.push(record);
      const born = generation;
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      if (born !== generation) return answer(res, 503);

      const refuse = (reason: string) => {
        record.status = 401;
        record.refused = reason;
        answer(res, 401, {}, reason);
      };
      if (req.method !== 'POST') {
        record.status = 405;
        return answer(res, 405, { allow: 'POST' });
      }
      if (!secret) return refuse('no secret configured');
      const ours = ourCheck(secret, headers, body, Math.floor(Date.now() / 1000));
      const lib = libraryCheck(secret, headers, body);
      if ((ours === null) !== lib.ok) disagreements.push(record);
      if (!lib.ok) return refuse(lib.reason);
      if (ours !== null) return refuse(ours);

      const verdict = storm.decide();
      if (verdict?.kind === 'hang') return storm.hold(() => res.destroy());
      if (verdict?.kind === 'rate-limit') {
        record.status = 429;
        return answer(
          res,
          429,
          { 'retry-after': String(verdict.retryAfterSeconds) },
          'fake receiver: storm, slow down',
        );
      }
      if (verdict?.kind === 'error') {
        record.status = stormErrors++ % 2 === 0 ? 500 : 503;
        return answer(res, record.status, {}, 'fake receiver: storm');
      }

      const fault = faults[0];
      if (fault) {
        fault.remaining--;
        if (fault.remaining <= 0) faults.shift();
        record.status = fault.status;
        return answer(res, fault.status, fault.headers, `fake receiver: answering ${fault.status} as told`);
      }
      record.status = 204;
      deliveries.push({
        path: record.path,
        webhookId: headers['webhook-id'] as string,
        timestamp: Number(tsHeader),
        signature: headers['webhook-signature'] as string,
        headers,
        body,
        payload: lib.payload,
      });
      for (const wake of waiters) wake();
      answer(res, 204);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    origin,
    url: (path = '/hook') => `${origin}${path.startsWith('/') ? path : `/${path}`}`,
    requests,
    deliveries,
    disagreements,
    setSecret(next) {
      secret = next;
    },
    failNext(count, status, headers = {}) {
      if (count > 0) faults.push({ remaining: count, status, headers });
    },
    setDelay(ms) {
      delayMs = ms;
    },
    redirect(location, status = 302, count = 1) {
      if (count > 0) faults.push({ remaining: count, status, headers: { location } });
    },
    storm,
    waitFor(count, timeoutMs = 15_000) {
      if (deliveries.length >= count) return Promise.resolve(deliveries.slice());
      return new Promise((resolve, reject) => {
        const wake = () => {
          if (deliveries.length < count) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(deliveries.slice());
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(
            new Error(`webhook receiver: waited ${timeoutMs} ms for ${count} deliveries, got ${deliveries.length}`),
          );
        }, timeoutMs);
        waiters.add(wake);
      });
    },
    reset() {
      generation++;
      requests.length = 0;
      deliveries.length = 0;
      disagreements.length = 0;
      faults = [];
      delayMs = 0;
      storm.set({ kind: 'calm' });
    },
    async close() {
      storm.release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
