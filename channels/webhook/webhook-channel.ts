import type { Logger } from 'pino';
import { logBatch, reportResult } from '../report.ts';
import type { Channel, Recipient, RecipientResult, SendContext } from '../types.ts';
import { renderWebhook, type WebhookPayload } from './payload.ts';
import { secretKey, signWebhook, webhookId } from './sign.ts';
import { hostOf, webhookUrlProblem } from './url-policy.ts';

export type { WebhookEvent, WebhookEventType, WebhookPayload } from './payload.ts';

export interface WebhookOptions {
  /** Per request, from connecting to the end of the answer (WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
  /** Lets http:// reach 127.0.0.0/8, ::1 and localhost (WEBHOOK_ALLOW_HTTP_LOOPBACK); tests and local receivers. */
  allowHttpLoopback: boolean;
}

export interface WebhookDeps {
  logger: Logger;
  /** The signing secret of the endpoint behind a contact; undefined once the endpoint is removed. */
  secretOf(contactId: number): Promise<string | undefined>;
  fetch?: typeof fetch;
  /** The clock for webhook-timestamp. */
  now?: () => Date;
}

export const WEBHOOK_USER_AGENT = 'Hibiki-Webhooks/1.0 (+https://www.standardwebhooks.com/)';

/** Endpoints per send(), all requested at once: a batch is a handful of systems, not a crowd. */
const MAX_BATCH = 50;
/** A Retry-After longer than this is taken as this: an emergency should not wait on a receiver's whim for a day. */
const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;
/** Enough of an error answer to tell staff what the receiver said. */
const REASON_BYTES = 300;

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
  const doFetch = deps.fetch ?? globalThis.fetch;
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

    const problem = webhookUrlProblem(recipient.address, options.allowHttpLoopback);
    if (problem) return failed(`endpoint URL refused: ${problem.en}`);
    const host = hostOf(recipient.address);
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
    const timeout = AbortSignal.timeout(options.timeoutMs);
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
        signal: AbortSignal.any([ctx.signal, timeout]),
      });
    } catch (err) {
      if (timeout.aborted && !ctx.signal.aborted) {
        return retry(`no answer from ${host} within ${options.timeoutMs} ms`, undefined, true);
      }
      if (ctx.signal.aborted) return retry(`sending to ${host} was aborted`);
      return retry(`cannot reach ${host}: ${networkReason(err)}`, undefined, true);
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
    const said = await shortText(response);
    const answer = `HTTP ${status} from ${host}${said ? `: ${said}` : ''}`;
    if (status === 429) {
      const after = retryAfterMs(response.headers.get('retry-after'), now());
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
      return retry(answer, retryAfterMs(response.headers.get('retry-after'), now()), true);
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
      const results = await Promise.all(
        to.map(async (recipient) => {
          let result: RecipientResult;
          if (ctx.signal.aborted) {
            result = { deliveryId: recipient.deliveryId, status: 'retry', reason: 'not sent: the send was aborted' };
          } else {
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
          }
          if (result.status !== 'sent') {
            logger.debug(
              {
                deliveryKey: ctx.deliveryKey,
                deliveryId: recipient.deliveryId,
                host: hostOf(recipient.address),
                status: result.status,
                reason: result.reason,
              },
              'webhook not delivered',
            );
          }
          reportResult('webhook', ctx, result, logger);
          return result;
        }),
      );
      logBatch('webhook', ctx, results, started, logger, { type: payload.type });
      return results;
    },
  };
}

/** Retry-After as seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: Date): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  let ms: number;
  if (/^\d+$/.test(value)) ms = Number(value) * 1000;
  else {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    ms = at - now.getTime();
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** The first few hundred bytes of an error answer, on one line; the rest is dropped unread. */
async function shortText(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < REASON_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // A body cut off by the timeout still leaves the status to go by.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks).subarray(0, REASON_BYTES));
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** Where a redirect points, host only (a relative Location stays on the endpoint's host). */
function redirectHost(location: string, base: string): string {
  try {
    return new URL(location, base).host;
  } catch {
    return 'an invalid location';
  }
}

/** undici hides the socket's code in `cause`; that code tells a person what to check. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}
