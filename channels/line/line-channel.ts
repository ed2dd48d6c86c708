import { createHash } from 'node:crypto';
import type { messagingApi } from '@line/bot-sdk';
import type { Logger } from 'pino';
import type { NoticeView } from '../../src/domain/notice.ts';
import { reportResult } from '../report.ts';
import { deadline } from '../shared/deadline.ts';
import { networkErrorCode } from '../shared/network-failure.ts';
import { retryAfterMs } from '../shared/retry-after.ts';
import { type Channel, ChannelError, type Recipient, type RecipientResult, type SendContext } from '../types.ts';
import { createLineHttp, type LineHttpAnswer, lineHttpOverFetch } from './line-http.ts';
import { LINE_LIMITS, type LineRendered, renderLineMessages } from './line-message.ts';

export type { LineRendered };

export interface LineOptions {
  channelAccessToken: string;
  /** https://api.line.me, or a local fake in tests. */
  baseUrl: string;
  /** Send a city-wide emergency by broadcast to every friend of the account instead of by multicast. */
  emergencyBroadcast: boolean;
  /** How long to wait for LINE's answer before treating the request as timed out; default 10 s. */
  timeoutMs?: number;
  /** Recipients per send(); at most 500, LINE's multicast limit (the default). */
  batch?: number;
}

export interface LineDeps {
  logger: Logger;
  /** Injected for tests and proxies; by default a keep-alive node:http(s) client of the channel's own (line-http.ts). */
  fetch?: typeof fetch;
}

/**
 * LINE user ids as the Messaging API gives them. Anything else in the store would make
 * LINE refuse the whole multicast with a 400, so it fails alone instead.
 */
const USER_ID = /^U[0-9a-f]{32}$/;

/** Pause after a 429 without Retry-After: LINE's rate limits are per second, so a short pause clears them. */
export const DEFAULT_RATE_LIMIT_MS = 2_000;
const DEFAULT_TIMEOUT_MS = 10_000;

/** A fixed namespace, so keys derived here never collide with another system's UUIDs. */
const RETRY_KEY_NAMESPACE = Buffer.from('5b0f7c1e9a4d4e2f8c3b6a1d0e9f8a7b', 'hex');

/**
 * The X-Line-Retry-Key for one request of a delivery batch: a name-based UUID (RFC 9562
 * version 5, SHA-1) of the batch's delivery key and the part of the batch the request
 * carries. Every attempt of the batch derives the same key, so after a timeout LINE
 * answers the retry with 409 instead of delivering twice.
 */
export function lineRetryKey(deliveryKey: string, part = ''): string {
  const hash = createHash('sha1').update(RETRY_KEY_NAMESPACE).update(`${deliveryKey}\u0000${part}`).digest();
  hash.writeUInt8((hash.readUInt8(6) & 0x0f) | 0x50, 6);
  hash.writeUInt8((hash.readUInt8(8) & 0x3f) | 0x80, 8);
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

interface LineAnswer {
  status: number;
  headers: LineHttpAnswer['headers'];
  body: unknown;
}

export function createLineChannel(options: LineOptions, deps: LineDeps): Channel<LineRendered> {
  const logger = deps.logger.bindings().channel === 'line' ? deps.logger : deps.logger.child({ channel: 'line' });
  if (!options.channelAccessToken) {
    throw new ChannelError('line', 'permanent', 'no channel access token: set LINE_CHANNEL_ACCESS_TOKEN');
  }
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  if (!URL.canParse(baseUrl)) {
    throw new ChannelError('line', 'permanent', `LINE_API_BASE_URL is not a URL: ${baseUrl}`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const lineHttp = deps.fetch ? lineHttpOverFetch(deps.fetch) : createLineHttp();
  const maxBatch = Math.max(1, Math.min(LINE_LIMITS.recipientsPerMulticast, options.batch ?? 500));

  /**
   * One HTTP request to LINE. Network failures and timeouts become provider-down
   * ChannelErrors (LINE as a whole is not reached: no user's fault); any answer is returned.
   */
  async function call(
    method: 'GET' | 'POST',
    path: string,
    what: string,
    init: { body?: unknown; retryKey?: string; signal?: AbortSignal } = {},
  ): Promise<LineAnswer> {
    const limit = deadline(timeoutMs, init.signal);
    const { signal } = limit;
    const headers: Record<string, string> = { authorization: `Bearer ${options.channelAccessToken}` };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.retryKey) headers['x-line-retry-key'] = init.retryKey;
    try {
      const res = await lineHttp(`${baseUrl}${path}`, {
        method,
        headers,
        signal,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
      let body: unknown = res.text;
      try {
        body = res.text ? JSON.parse(res.text) : {};
      } catch {
        // LINE answers JSON; a proxy's HTML error page is kept as text for the message.
      }
      return { status: res.status, headers: res.headers, body };
    } catch (cause) {
      if (init.signal?.aborted) {
        throw new ChannelError('line', 'retryable', `${what} was interrupted (the worker is stopping)`, { cause });
      }
      if (limit.timedOut) {
        // LINE may have accepted it: the retry carries the same X-Line-Retry-Key, so nobody gets it twice.
        throw new ChannelError('line', 'provider-down', `LINE did not answer ${what} within ${timeoutMs} ms`, {
          cause,
        });
      }
      const code = networkErrorCode(cause) ?? (cause as Error).name;
      throw new ChannelError(
        'line',
        'provider-down',
        `cannot reach LINE at ${new URL(baseUrl).host} for ${what} (${code}): check the network and LINE_API_BASE_URL`,
        { cause },
      );
    } finally {
      limit.clear();
    }
  }

  /** The provider id of an accepted request: 2xx, or 409 for a retry key LINE already accepted. */
  function accepted(answer: LineAnswer, what: string): string {
    if (answer.status >= 200 && answer.status < 300) return answer.headers.get('x-line-request-id') ?? '';
    const acceptedId = answer.headers.get('x-line-accepted-request-id');
    if (answer.status === 409 && acceptedId) return acceptedId;
    throw failure(answer, what);
  }

  function report(results: RecipientResult[], result: RecipientResult, ctx: SendContext) {
    results.push(result);
    reportResult('line', ctx, result, logger);
  }

  async function broadcastSend(message: LineRendered, to: Recipient, ctx: SendContext): Promise<RecipientResult[]> {
    const retryKey = lineRetryKey(ctx.deliveryKey, `broadcast:${to.locale}`);
    const request: messagingApi.BroadcastRequest = { messages: message.messages };
    await ctx.waitTurn?.();
    const answer = await call('POST', '/v2/bot/message/broadcast', 'the broadcast', {
      body: request,
      retryKey,
      signal: ctx.signal,
    });
    const providerId = accepted(answer, 'the broadcast');
    logger.info(
      { deliveryKey: ctx.deliveryKey, attempt: ctx.attempt, status: answer.status, requestId: providerId },
      'line broadcast accepted',
    );
    const results: RecipientResult[] = [];
    report(results, { deliveryId: to.deliveryId, status: 'sent', providerId }, ctx);
    return results;
  }

  return {
    id: 'line',
    audience: 'subscribers',
    maxBatch,

    render(notice, locale) {
      return renderLineMessages(notice, locale);
    },

    broadcast(notice: NoticeView) {
      // A technical test must never reach every friend; an exercise may (it is marked 【訓練】).
      return (
        options.emergencyBroadcast &&
        notice.severity === 'emergency' &&
        notice.areas.length === 0 &&
        notice.mode !== 'test'
      );
    },

    async admit(notice, audience) {
      if (audience <= 0) return;
      let limit: number | undefined;
      let used: number;
      try {
        const quota = await call('GET', '/v2/bot/message/quota', 'the quota check');
        if (quota.status !== 200) throw failure(quota, 'the quota check');
        const q = quota.body as messagingApi.MessageQuotaResponse;
        if (q.type === 'none') return;
        limit = q.value ?? 0;
        const consumption = await call('GET', '/v2/bot/message/quota/consumption', 'the quota check');
        if (consumption.status !== 200) throw failure(consumption, 'the quota check');
        used = (consumption.body as messagingApi.QuotaConsumptionResponse).totalUsage ?? 0;
      } catch (err) {
        if (err instanceof ChannelError && err.kind === 'permanent') throw err;
        // A quota endpoint that is briefly down must not hold back an emergency: send, and
        // let LINE refuse with its monthly-limit 429 if the quota really is spent.
        logger.warn(
          { noticeId: notice.id, revision: notice.revision, reason: (err as Error).message },
          'LINE quota could not be read; sending without the check',
        );
        return;
      }
      const remaining = Math.max(0, limit - used);
      if (audience > remaining) {
        throw new ChannelError(
          'line',
          'permanent',
          `LINE の今月の送信上限が足りないため送信しませんでした（上限 ${limit} 通、使用済み ${used} 通、残り ${remaining} 通、配信先 ${audience} 人）。LINE Official Account Manager でプランと上限を確認してください / ` +
            `not sent: LINE's monthly message quota cannot cover this notice (limit ${limit}, used ${used}, remaining ${remaining}, audience ${audience}); check the plan in LINE Official Account Manager`,
        );
      }
      logger.info({ noticeId: notice.id, limit, used, audience }, 'LINE quota covers the audience');
    },

    async send(message, to, ctx) {
      const first = to[0];
      if (!first) return [];
      if (to.length === 1 && first.address === '*') return broadcastSend(message, first, ctx);

      const started = Date.now();
      const results: RecipientResult[] = [];
      const valid: Recipient[] = [];
      for (const r of to) {
        if (USER_ID.test(r.address)) valid.push(r);
        else
          report(
            results,
            {
              deliveryId: r.deliveryId,
              status: 'failed',
              reason: 'not a LINE user id (expected U followed by 32 hex digits)',
              deactivate: true,
            },
            ctx,
          );
      }
      // The deliver worker calls send() once per locale with the batch's one delivery key, so
      // the locale is part of each request's retry key; the part number covers a send() of more than 500.
      const locales = [...new Set(valid.map((r) => r.locale))].sort().join(',');
      const requestIds: string[] = [];
      for (let i = 0, part = 0; i < valid.length; i += LINE_LIMITS.recipientsPerMulticast, part++) {
        let chunk = valid.slice(i, i + LINE_LIMITS.recipientsPerMulticast);
        const retryKey = lineRetryKey(ctx.deliveryKey, `multicast:${locales}:${part}`);
        let answer: LineAnswer;
        let what: string;
        for (;;) {
          const request: messagingApi.MulticastRequest = {
            to: chunk.map((r) => r.address),
            messages: message.messages,
          };
          what = `the multicast to ${chunk.length} recipient${chunk.length === 1 ? '' : 's'}`;
          // A routine batch waits, request by request, while an alert of LINE is sending in this process.
          await ctx.waitTurn?.();
          answer = await call('POST', '/v2/bot/message/multicast', what, {
            body: request,
            retryKey,
            signal: ctx.signal,
          });
          // LINE refuses the whole multicast over one user id it will not take, naming it as
          // to[i]: that one fails alone and the rest go again at once (LINE took nothing, so
          // the retry key is still unused).
          const refused = answer.status === 400 ? refusedRecipient(answer.body) : undefined;
          const culprit = refused === undefined ? undefined : chunk[refused];
          if (!culprit) break;
          report(
            results,
            {
              deliveryId: culprit.deliveryId,
              status: 'failed',
              reason: `LINE refused this user id (400: ${lineMessage(answer.body)}); the contact is switched off`,
              deactivate: true,
            },
            ctx,
          );
          chunk = chunk.filter((r) => r !== culprit);
          if (chunk.length === 0) break;
        }
        if (chunk.length === 0) continue;
        const providerId = accepted(answer, what);
        requestIds.push(providerId);
        if (answer.status === 409) {
          logger.info({ deliveryKey: ctx.deliveryKey, attempt: ctx.attempt }, 'line retry key already accepted (409)');
        }
        for (const r of chunk) report(results, { deliveryId: r.deliveryId, status: 'sent', providerId }, ctx);
      }
      logger.info(
        {
          deliveryKey: ctx.deliveryKey,
          attempt: ctx.attempt,
          recipients: to.length,
          sent: valid.length,
          failed: to.length - valid.length,
          requests: requestIds.length,
          ms: Date.now() - started,
        },
        'line batch finished',
      );
      return results;
    },

    async check() {
      const answer = await call('GET', '/v2/bot/message/quota', 'the start-up check');
      if (answer.status !== 200) throw failure(answer, 'the start-up check');
    },

    async close() {
      lineHttp.close();
    },
  };
}

/** The index of the recipient a 400 names ("The property, 'to[3]', in the request body is invalid"), if it names one. */
function refusedRecipient(body: unknown): number | undefined {
  const b = body as messagingApi.ErrorResponse | undefined;
  const texts = [b?.message, ...(b?.details ?? []).flatMap((d) => [d.property, d.message])];
  for (const text of texts) {
    const m = typeof text === 'string' ? /\bto\[(\d+)\]/.exec(text) : null;
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** LINE's own words from an error body: its message and each detail, with user ids taken out. */
function lineMessage(body: unknown): string {
  if (typeof body === 'string') return redact(body.replace(/\s+/g, ' ').trim()).slice(0, 300) || 'no message';
  const b = body as messagingApi.ErrorResponse | undefined;
  const details = (b?.details ?? [])
    .slice(0, 10)
    .map((d) => (d.property ? `${d.property}: ${d.message ?? ''}` : (d.message ?? '')))
    .filter(Boolean);
  const text = `${b?.message ?? 'no message'}${details.length > 0 ? ` (${details.join('; ')})` : ''}`;
  return redact(text).slice(0, 500);
}

function redact(s: string): string {
  return s.replace(/U[0-9a-f]{32}/g, 'U…');
}

/** What an unaccepted answer means for the worker, with what a person needs to act. */
function failure(answer: LineAnswer, what: string): ChannelError {
  const { status } = answer;
  const said = lineMessage(answer.body);
  const after = retryAfterMs(answer.headers.get('retry-after'), Date.now());
  if (status === 401) {
    return new ChannelError(
      'line',
      'permanent',
      `LINE がチャネルアクセストークンを受け付けません。LINE_CHANNEL_ACCESS_TOKEN を確認してください / LINE refused the channel access token for ${what} (401: ${said}): check LINE_CHANNEL_ACCESS_TOKEN`,
    );
  }
  if (status === 403) {
    return new ChannelError(
      'line',
      'permanent',
      `LINE がこの操作を許可しません。LINE_CHANNEL_ACCESS_TOKEN とチャネルのプラン・権限を確認してください / LINE forbade ${what} (403: ${said}): check LINE_CHANNEL_ACCESS_TOKEN and the channel's plan and permissions`,
    );
  }
  if (status === 429 && /monthly limit/i.test(said)) {
    // Same status as a rate limit, but waiting a few seconds will not help: it is this month's quota.
    return new ChannelError(
      'line',
      'permanent',
      `LINE の今月の送信上限に達しました / LINE's monthly message limit is reached, ${what} was refused (429: ${said}); check the plan in LINE Official Account Manager`,
    );
  }
  if (status === 429) {
    return new ChannelError('line', 'rate-limited', `LINE rate limit on ${what} (429: ${said})`, {
      retryAfterMs: after ?? DEFAULT_RATE_LIMIT_MS,
    });
  }
  if (status >= 500 || status === 408) {
    // The whole multicast refused by LINE's servers: LINE is down for every user in it.
    return new ChannelError('line', 'provider-down', `LINE answered ${status} to ${what}: ${said}`, {
      ...(after !== undefined ? { retryAfterMs: after } : {}),
    });
  }
  if (status === 404) {
    return new ChannelError(
      'line',
      'permanent',
      `LINE answered 404 to ${what} (${said}): check LINE_API_BASE_URL (normally https://api.line.me)`,
    );
  }
  // 400 and the rest: LINE will refuse the same request every time; keep its words.
  return new ChannelError('line', 'permanent', `LINE refused ${what} (${status}: ${said})`);
}
