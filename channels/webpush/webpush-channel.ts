import type https from 'node:https';
import type { Logger } from 'pino';
import webpush from 'web-push';
import { logBatch, reportRecipientResult } from '../report.ts';
import { describeOutboundFailure } from '../shared/network-failure.ts';
import { createOutboundHttp, type OutboundHttp } from '../shared/outbound-http.ts';
import { retryAfterMs } from '../shared/retry-after.ts';
import { sendEach } from '../shared/send-each.ts';
import { type Channel, ChannelError, type Recipient, type RecipientResult, type SendContext } from '../types.ts';
import { DEFAULT_PUSH_HOSTS, pushEndpointProblem, pushHostOf } from './endpoint-policy.ts';
import { PUSH_LIMITS, type PushPayload, renderPush } from './push-payload.ts';

export type { PushNotification, PushPayload, PushUrgency } from './push-payload.ts';

export interface VapidKeys {
  /** base64url, the 65-byte uncompressed P-256 point: the applicationServerKey browsers subscribe with. */
  publicKey: string;
  /** base64url, 32 bytes. */
  privateKey: string;
}

export interface WebPushOptions {
  vapid: VapidKeys;
  /** mailto: or https:// — how a push service reaches the city (VAPID `sub`). */
  subject: string;
  /** TTL of routine notices (WEBPUSH_TTL_SECONDS); emergencies are kept for at least a day. */
  ttlSeconds: number;
  /**
   * A keep-alive agent to reuse (one that trusts a private CA, say); the outbound layer
   * puts its address policy on it. The layer's own agent when absent.
   */
  agent?: https.Agent;
  /** OUTBOUND_ALLOW: internal addresses a push service may be at (a self-hosted one; the local fake in tests). */
  allow?: readonly string[];
  /** Push service hosts endpoints may point to; DEFAULT_PUSH_HOSTS unless given (tests add 127.0.0.1). */
  allowedHosts?: readonly string[];
  /** Requests in flight per send(); default 20. */
  concurrency?: number;
  /** Socket idle timeout per request; default 10 s. */
  timeoutMs?: number;
}

export interface WebPushDeps {
  logger: Logger;
  /** The browser's keys for a contact's subscription; undefined once it unsubscribed or was switched off. */
  keysOf(contactId: number): Promise<{ p256dh: string; auth: string } | undefined>;
  /** The same for a whole batch at once (one query instead of one per recipient); keysOf is used when absent. */
  keysOfMany?(contactIds: number[]): Promise<Map<number, { p256dh: string; auth: string }>>;
  now?: () => Date;
  /** The outbound HTTP layer to send through; one is made from options.allow (and closed with the channel) when absent. */
  outbound?: OutboundHttp;
}

const MAX_BATCH = 100;
const DEFAULT_CONCURRENCY = 20;
const DEFAULT_TIMEOUT_MS = 10_000;
/** VAPID JWTs live 12 hours (as web-push makes them; RFC 8292 allows 24) and are renewed every half hour. */
const VAPID_EXPIRY_SECONDS = 12 * 60 * 60;
const VAPID_RENEW_MS = 30 * 60 * 1000;
/** A Retry-After longer than this is taken as this: a resident's phone should not wait a day on one push service. */
const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/**
 * What each answer of a push service means (RFC 8030, RFC 8292 and the services' docs):
 *   2xx (201 Created, 202 Accepted)      → sent
 *   404, 410                             → failed, contact switched off: the subscription expired or was removed
 *   413                                  → failed: the payload is too big, a bug in rendering (it is kept under 4 KB)
 *   429, 5xx                             → retry (Retry-After honoured as the earliest next try; a 429 is marked rateLimited)
 *   400                                  → failed: the request was malformed (the reason says what the service said)
 *   401, 403                             → failed: VAPID refused (wrong key for this subscription, bad JWT or subject)
 *   other 4xx                            → failed with the status
 *   network error, timeout, TLS failure  → retry
 *   (5xx and these are marked unreachable: the push service is down, not the subscription)
 */
export function createWebPushChannel(options: WebPushOptions, deps: WebPushDeps): Channel<PushPayload> {
  const logger = deps.logger.bindings().channel === 'webpush' ? deps.logger : deps.logger.child({ channel: 'webpush' });
  const now = deps.now ?? (() => new Date());
  const ownOutbound = deps.outbound === undefined;
  const outbound = deps.outbound ?? createOutboundHttp({ allow: options.allow ?? [] });
  const agent = options.agent ? outbound.guard(options.agent) : undefined;
  const allowedHosts = options.allowedHosts ?? DEFAULT_PUSH_HOSTS;
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // Bad keys or subject would fail every send the same way: refuse them at start-up instead, naming the setting.
  try {
    webpush.getVapidHeaders(
      'https://push.example',
      options.subject,
      options.vapid.publicKey,
      options.vapid.privateKey,
      'aes128gcm',
    );
  } catch (err) {
    throw new Error(
      `webpush: the VAPID keys or subject cannot be used (VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT): ${(err as Error).message}`,
    );
  }

  /**
   * The VAPID Authorization for a push service, signed once per origin every
   * VAPID_RENEW_MS instead of once per message: web-push signs anew for every request,
   * which is more than half of the CPU time of a send.
   */
  const vapidCache = new Map<string, { authorization: string; renewAt: number }>();
  function vapidAuthorization(endpoint: string): string {
    const audience = new URL(endpoint).origin;
    const at = now().getTime();
    const cached = vapidCache.get(audience);
    if (cached && cached.renewAt > at) return cached.authorization;
    const exp = Math.floor(at / 1000) + VAPID_EXPIRY_SECONDS;
    const { Authorization } = webpush.getVapidHeaders(
      audience,
      options.subject,
      options.vapid.publicKey,
      options.vapid.privateKey,
      'aes128gcm',
      exp,
    ) as { Authorization: string };
    vapidCache.set(audience, { authorization: Authorization, renewAt: at + VAPID_RENEW_MS });
    return Authorization;
  }

  type Keys = { p256dh: string; auth: string };
  async function sendOne(
    payload: PushPayload,
    recipient: Recipient,
    ctx: SendContext,
    prefetched: Map<number, Keys> | undefined,
  ): Promise<RecipientResult> {
    const { deliveryId } = recipient;
    const failed = (reason: string, deactivate = false): RecipientResult =>
      deactivate ? { deliveryId, status: 'failed', reason, deactivate } : { deliveryId, status: 'failed', reason };
    const retry = (reason: string, retryAfter?: number, unreachable = false): RecipientResult => ({
      deliveryId,
      status: 'retry',
      reason,
      ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
      // The push service this subscription lives on is down, not the subscription.
      ...(unreachable ? { unreachable } : {}),
    });

    if (ctx.signal.aborted) return retry('not sent: the send was aborted');
    const problem = pushEndpointProblem(recipient.address, allowedHosts);
    // Not switched off: the API checks endpoints with the same list, so a refusal here means the list changed.
    // A host no list accepts (stored before the check existed) is switched off for good.
    if (problem) return failed(`push endpoint refused: ${problem.en}`, problem.never === true);
    const host = pushHostOf(recipient.address);
    if (recipient.contactId === null) return failed('no push subscription behind this delivery');
    const keys = prefetched ? prefetched.get(recipient.contactId) : await deps.keysOf(recipient.contactId);
    if (!keys) return failed('the push subscription was removed or switched off before sending');
    const keyProblem = subscriptionKeyProblem(keys);
    if (keyProblem)
      return failed(`the stored subscription keys are unusable (${keyProblem}); the contact is switched off`, true);

    // web-push encrypts and makes the headers; the request itself goes through the outbound
    // layer, to the endpoint as WHATWG URL read it (web-push's own sender re-parses it with
    // the legacy url.parse, which can read another host than the one checked).
    const details = webpush.generateRequestDetails({ endpoint: recipient.address, keys }, payload.json, {
      headers: { Authorization: vapidAuthorization(recipient.address) },
      // web-push documents a falsy vapidDetails as "sign nothing": ours is in the headers already.
      vapidDetails: null as unknown as undefined,
      TTL: ttlFor(payload, ctx, now()),
      urgency: payload.urgency,
      topic: payload.topic,
      contentEncoding: 'aes128gcm',
    }) as { method: string; headers: Record<string, string | number>; body: Buffer | null };
    let response: Response;
    try {
      response = await outbound.fetch(recipient.address, {
        method: details.method,
        headers: details.headers,
        body: details.body,
        signal: ctx.signal,
        timeoutMs,
        ...(agent ? { agent } : {}),
      });
    } catch (err) {
      const failure = describeOutboundFailure(err, host, ctx.signal.aborted);
      logger.debug({ deliveryId, host, code: failure.code, kind: failure.kind }, 'push request got no answer');
      // An address the policy refuses will be refused again: that is no reason to try 8 times.
      // Unreachable unless Hibiki itself stopped it: the push service is down, not the subscription.
      return failure.kind === 'address-refused'
        ? failed(failure.reason)
        : retry(failure.reason, undefined, !ctx.signal.aborted);
    }
    // The push service's words are never copied into a reason: only its status and headers are read.
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) {
      return { deliveryId, status: 'sent', providerId: providerIdOf(response) };
    }
    return fromStatus(response, recipient, host, failed, retry, now());
  }

  return {
    id: 'webpush',
    audience: 'subscribers',
    maxBatch: MAX_BATCH,

    render(notice, locale) {
      return renderPush(notice, locale, options.ttlSeconds);
    },

    async send(payload, to, ctx) {
      const started = Date.now();
      let prefetched: Map<number, Keys> | undefined;
      if (deps.keysOfMany) {
        const ids = to.flatMap((r) => (r.contactId === null ? [] : [r.contactId]));
        try {
          prefetched = await deps.keysOfMany(ids);
        } catch (err) {
          // The store is down: every recipient is worth another try, not a lost alert.
          throw new ChannelError(
            'webpush',
            'retryable',
            `could not read the subscriptions' keys: ${(err as Error).message}`,
            {
              cause: err,
            },
          );
        }
      }
      const finish = (recipient: Recipient, result: RecipientResult): RecipientResult =>
        reportRecipientResult('webpush', ctx, recipient, result, logger, {
          host: pushHostOf(recipient.address),
          message: 'push not delivered',
        });
      const results = await sendEach(
        to,
        { concurrency, ctx },
        async (recipient) => {
          let result: RecipientResult;
          try {
            result = await sendOne(payload, recipient, ctx, prefetched);
          } catch (err) {
            // A failing key lookup (the store is down) is worth another try, not a lost alert.
            result = {
              deliveryId: recipient.deliveryId,
              status: 'retry',
              reason: `could not prepare the push message: ${(err as Error).message}`,
            };
          }
          return finish(recipient, result);
        },
        (recipient) =>
          finish(recipient, {
            deliveryId: recipient.deliveryId,
            status: 'retry',
            reason: 'not sent: the send was aborted',
          }),
      );
      logBatch('webpush', ctx, results, started, logger, { urgency: payload.urgency });
      return results;
    },

    async close() {
      if (ownOutbound) outbound.close();
    },
  };
}

/** The configured TTL, but never past the notice's own expiry: an expired alert must not pop up later. */
function ttlFor(payload: PushPayload, ctx: SendContext, at: Date): number {
  const expiresAt = ctx.notice.expiresAt;
  if (!expiresAt) return payload.ttlSeconds;
  const left = Math.floor((expiresAt.getTime() - at.getTime()) / 1000);
  return Math.max(0, Math.min(payload.ttlSeconds, left));
}

function fromStatus(
  response: Response,
  recipient: Recipient,
  host: string,
  failed: (reason: string, deactivate?: boolean) => RecipientResult,
  retry: (reason: string, retryAfterMs?: number, unreachable?: boolean) => RecipientResult,
  at: Date,
): RecipientResult {
  const { status } = response;
  const answer = `HTTP ${status} from ${host}`;
  if (status === 404 || status === 410) {
    return failed(`${answer} (the subscription expired or was removed; the contact is switched off)`, true);
  }
  if (status === 413) {
    return failed(
      `${answer} (payload too large: Hibiki keeps it under ${PUSH_LIMITS.encryptedBytes} bytes, so this is a bug in the push rendering; please report it)`,
    );
  }
  if (status === 429) {
    const after = retryAfterMs(response.headers.get('retry-after'), at, MAX_RETRY_AFTER_MS);
    // The push service asked to slow down: waiting for it should not use up the delivery's attempts.
    return {
      deliveryId: recipient.deliveryId,
      status: 'retry',
      reason: answer,
      rateLimited: true,
      ...(after !== undefined ? { retryAfterMs: after } : {}),
    };
  }
  if (status >= 500)
    return retry(answer, retryAfterMs(response.headers.get('retry-after'), at, MAX_RETRY_AFTER_MS), true);
  if (status === 401 || status === 403) {
    return failed(
      `${answer} (VAPID refused: the subscription was made with another VAPID key, or the key or subject is not accepted; check VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT)`,
    );
  }
  if (status === 400) return failed(`${answer} (the push service refused the request as malformed)`);
  return failed(answer);
}

/** RFC 8291 needs a 65-byte uncompressed P-256 point and a 16-byte auth secret. */
function subscriptionKeyProblem(keys: { p256dh: string; auth: string }): string | undefined {
  const p256dh = Buffer.from(keys.p256dh, 'base64url');
  if (p256dh.length !== 65 || p256dh[0] !== 0x04) return 'p256dh is not a P-256 public key';
  if (Buffer.from(keys.auth, 'base64url').length !== 16) return 'auth is not 16 bytes';
  return undefined;
}

/** The message's id from its Location (RFC 8030 §5: a URL of the message resource), else the status. */
function providerIdOf(response: Response): string {
  const location = response.headers.get('location');
  const id = location?.split('/').filter(Boolean).pop();
  return (id ?? `HTTP ${response.status}`).slice(0, 200);
}
