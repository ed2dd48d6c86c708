import type { Logger } from 'pino';
import { logBatch, reportRecipientResult } from '../report.ts';
import { deadline } from '../shared/deadline.ts';
import { describeOutboundFailure } from '../shared/network-failure.ts';
import {
  createOutboundHttp,
  type OutboundHttp,
  type OutboundInit,
  OutboundRefusedError,
} from '../shared/outbound-http.ts';
import { retryAfterMs } from '../shared/retry-after.ts';
import { sendEach } from '../shared/send-each.ts';
import type { Channel, Recipient, RecipientResult, SendContext } from '../types.ts';
import { renderWebhook, type WebhookPayload } from './payload.ts';
import { secretKey, signWebhook, webhookId } from './sign.ts';
import { hostOf, webhookAllow, webhookUrlProblem } from './url-policy.ts';

export type { WebhookEvent, WebhookEventType, WebhookPayload } from './payload.ts';

export interface WebhookOptions {
  /** Per request, from connecting to the end of the answer (WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
  /** Lets http:// reach 127.0.0.0/8, ::1 and localhost (WEBHOOK_ALLOW_HTTP_LOOPBACK); tests and local receivers. */
  allowHttpLoopback: boolean;
  /** OUTBOUND_ALLOW: internal addresses (CIDRs) a receiver may be at, e.g. a city's intranet system. */
  allow?: readonly string[];
}

export interface WebhookDeps {
  logger: Logger;
  /** The signing secret of the endpoint behind a contact; undefined once the endpoint is removed. */
  secretOf(contactId: number): Promise<string | undefined>;
  /** The outbound HTTP layer to send through; one is made from the options (and closed with the channel) when absent. */
  outbound?: OutboundHttp;
  /** Replaces the outbound layer's fetch (tests of what is sent without a network). */
  fetch?: (url: string, init: WebhookRequest) => Promise<Response>;
  /** The clock for webhook-timestamp. */
  now?: () => Date;
}

/** What a webhook request is made of: a subset of both fetch's RequestInit and the outbound layer's init. */
export type WebhookRequest = Required<Pick<OutboundInit, 'method' | 'redirect' | 'signal'>> & {
  headers: Record<string, string>;
  body: string;
};

export const WEBHOOK_USER_AGENT = 'Hibiki-Webhooks/1.0 (+https://www.standardwebhooks.com/)';

/** Endpoints per send(), all requested at once: a batch is a handful of systems, not a crowd. */
const MAX_BATCH = 50;
/** A Retry-After longer than this is taken as this: an emergency should not wait on a receiver's whim for a day. */
const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/**
 * What each answer means (Standard Webhooks and the issue):
 *   2xx                → sent
 *   408, 429, 5xx      → retry (429/503 Retry-After is honoured as the earliest next try; a 429 is marked rateLimited)
 *   3xx                → failed: redirects are never followed, the endpoint URL must be the final one
 *   410                → failed and the endpoint switched off: the receiver says it is gone for good
 *   other 4xx          → failed (401/403: the receiver refused the signature or us)
 *   timeout, network   → retry
 *   (408, 5xx, timeout and network are marked unreachable: the receiver is down, not the delivery)
 */
export function createWebhookChannel(options: WebhookOptions, deps: WebhookDeps): Channel<WebhookPayload> {
  const logger = deps.logger.bindings().channel === 'webhook' ? deps.logger : deps.logger.child({ channel: 'webhook' });
  const ownOutbound = deps.outbound === undefined;
  const outbound = deps.outbound ?? createOutboundHttp({ allow: webhookAllow(options) });
  const doFetch = deps.fetch ?? outbound.fetch;
  const now = deps.now ?? (() => new Date());

  async function sendOne(payload: WebhookPayload, recipient: Recipient, ctx: SendContext): Promise<RecipientResult> {
    const { deliveryId } = recipient;
    const failed = (reason: string, deactivate = false): RecipientResult =>
      deactivate ? { deliveryId, status: 'failed', reason, deactivate } : { deliveryId, status: 'failed', reason };
    // unreachable: the receiver itself is down (no answer, 408, 5xx), not this delivery at fault.
    const retry = (reason: string, retryAfterMs?: number, unreachable = false): RecipientResult => ({
      deliveryId,
      status: 'retry',
      reason,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(unreachable ? { unreachable } : {}),
    });

    const problem = webhookUrlProblem(recipient.address, options.allowHttpLoopback, outbound.policy);
    const host = hostOf(recipient.address);
    if (problem?.internal) {
      return failed(describeOutboundFailure(new OutboundRefusedError(host, problem.internal), host).reason);
    }
    if (problem) return failed(`endpoint URL refused: ${problem.en}`);
    if (recipient.contactId === null) return failed('no webhook endpoint behind this delivery');
    const secret = await deps.secretOf(recipient.contactId);
    if (secret === undefined) return failed('the webhook endpoint was removed before sending');
    let key: Buffer;
    try {
      key = secretKey(secret);
    } catch (err) {
      return failed(`cannot sign for this endpoint: ${(err as Error).message}; rotate its secret`);
    }

    const id = webhookId(ctx.deliveryKey, deliveryId);
    const timestamp = Math.floor(now().getTime() / 1000);
    const limit = deadline(options.timeoutMs, ctx.signal);
    let response: Response;
    try {
      response = await doFetch(recipient.address, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': WEBHOOK_USER_AGENT,
          'webhook-id': id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signWebhook(key, id, timestamp, payload.body),
        },
        body: payload.body,
        redirect: 'manual',
        signal: limit.signal,
      });
    } catch (err) {
      // A timeout reads as a refused or reset connection on purpose (describeOutboundFailure).
      const failure = describeOutboundFailure(err, host, ctx.signal.aborted);
      logger.debug(
        { deliveryId, host, code: limit.timedOut ? 'TIMEOUT' : failure.code, kind: failure.kind },
        'webhook request got no answer',
      );
      // An address the policy refuses will be refused again: that is no reason to try 8 times.
      // Unreachable unless Hibiki itself stopped it: the receiver is down, not the delivery at fault.
      return failure.kind === 'address-refused'
        ? failed(failure.reason)
        : retry(failure.reason, undefined, !ctx.signal.aborted);
    } finally {
      // The outbound layer has read the whole answer by now: nothing is left for the limit to cut.
      limit.clear();
    }

    const { status } = response;
    if (status >= 200 && status < 300) {
      await response.body?.cancel().catch(() => undefined);
      const requestId = response.headers.get('x-request-id') ?? response.headers.get('request-id');
      return { deliveryId, status: 'sent', providerId: (requestId ?? `HTTP ${status}`).slice(0, 200) };
    }
    if (status >= 300 && status < 400) {
      await response.body?.cancel().catch(() => undefined);
      const location = response.headers.get('location');
      const to = location ? ` to ${redirectHost(location, recipient.address)}` : '';
      return failed(
        `HTTP ${status} from ${host}: redirect${to} not followed; set the endpoint URL to the final address`,
      );
    }
    // The receiver's body is never read into a reason: authors read reasons, and an internal
    // service's answer (a planted db_password=…) must not reach them through a delivery row.
    await response.body?.cancel().catch(() => undefined);
    const answer = `HTTP ${status} from ${host}`;
    if (status === 429) {
      const after = retryAfterMs(response.headers.get('retry-after'), now(), MAX_RETRY_AFTER_MS);
      // The receiver asked to slow down: waiting for it should not use up the delivery's attempts.
      return {
        deliveryId,
        status: 'retry',
        reason: answer,
        rateLimited: true,
        ...(after !== undefined ? { retryAfterMs: after } : {}),
      };
    }
    if (status === 408 || status >= 500) {
      return retry(answer, retryAfterMs(response.headers.get('retry-after'), now(), MAX_RETRY_AFTER_MS), true);
    }
    if (status === 401 || status === 403) {
      return failed(`${answer} (the receiver refused the request: check that it verifies with the current secret)`);
    }
    if (status === 410) return failed(`${answer} (the receiver is gone; the endpoint is switched off)`, true);
    return failed(answer);
  }

  return {
    id: 'webhook',
    audience: 'subscribers',
    maxBatch: MAX_BATCH,

    // One JSON body for every locale: the payload carries both languages where it has them.
    render(notice) {
      return renderWebhook(notice);
    },

    async send(payload, to, ctx) {
      const started = Date.now();
      const finish = (recipient: Recipient, result: RecipientResult): RecipientResult =>
        reportRecipientResult('webhook', ctx, recipient, result, logger, {
          host: hostOf(recipient.address),
          message: 'webhook not delivered',
        });
      // All at once: a batch is a handful of systems, each with a receiver of its own.
      const results = await sendEach(
        to,
        { concurrency: MAX_BATCH, ctx },
        async (recipient) => {
          let result: RecipientResult;
          try {
            result = await sendOne(payload, recipient, ctx);
          } catch (err) {
            // A failing secret lookup (the store is down) is worth another try, not a lost notice.
            result = {
              deliveryId: recipient.deliveryId,
              status: 'retry',
              reason: `could not prepare the request: ${(err as Error).message}`,
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
      logBatch('webhook', ctx, results, started, logger, { type: payload.type });
      return results;
    },

    async close() {
      if (ownOutbound) outbound.close();
    },
  };
}

/** Where a redirect points, host only (a relative Location stays on the endpoint's host). */
function redirectHost(location: string, base: string): string {
  try {
    return new URL(location, base).host;
  } catch {
    return 'an invalid location';
  }
}
