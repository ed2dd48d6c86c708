import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import {
  ApiPartialResponseError,
  ApiRequestError,
  ApiResponseError,
  type ITwitterApiClientPlugin,
  type TweetV2PostTweetResult,
  TwitterApi,
} from 'twitter-api-v2';
import { reportResult } from '../report.ts';
import { networkErrorCode } from '../shared/network-failure.ts';
import { retryAfterMs } from '../shared/retry-after.ts';
import { type Channel, ChannelError, type RecipientResult, type SendContext } from '../types.ts';
import { fitPost, type XLongText, type XPost } from './fit-post.ts';

export type { XPost };

/** Exactly config.x: see src/config.ts for the environment variables behind each field. */
export interface XChannelOptions {
  /** OAuth 1.0a user context of the city's account (X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN, X_ACCESS_SECRET). */
  oauth1?: { appKey: string; appSecret: string; accessToken: string; accessSecret: string };
  /** An OAuth 2.0 user-context token (X_OAUTH2_TOKEN); used only when oauth1 is not set. */
  oauth2Token?: string;
  /** X_API_BASE_URL: https://api.x.com, or a local fake's http://127.0.0.1:port in tests. */
  baseUrl: string;
  longText: XLongText;
  threadMax: number;
  /** Not from the environment: how long one request may stay silent; default 15 s. */
  requestTimeoutMs?: number;
  /** Not from the environment: waits before retrying a failed thread reply in the same call; default 1 s, 3 s. */
  replyRetryDelaysMs?: number[];
}

export interface XChannelDeps {
  logger: Logger;
  /** Keep-alive agent for the API; an http.Agent only for an http:// baseUrl (a local fake). */
  httpAgent?: http.Agent | https.Agent;
  /** For rate-limit arithmetic; Date.now by default. */
  now?: () => number;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_REPLY_RETRY_DELAYS_MS = [1_000, 3_000];
/** A reply is retried within the call only when X asks for at most this long a wait. */
const REPLY_WAIT_MAX_MS = 30_000;
/** Threads remembered per process, by delivery key, so a repeated send() never posts a part twice. */
const PROGRESS_KEPT = 500;
const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;

interface Progress {
  texts: string[];
  firstId: string;
  /** The post the next part replies to. */
  lastId: string;
  /** Parts posted (or known to be on X) so far. */
  done: number;
}

interface Failure {
  error: ChannelError;
  /** X refused a text identical to a recent post. */
  duplicate: boolean;
  /** The post to reply to is deleted or not visible. */
  replyGone: boolean;
}

/**
 * Posts each notice revision from the city's X account: one post, or a thread of replies
 * (see fit-post.ts). A correction or cancellation replies to the first post of the
 * earlier revision (ctx.replyTo, this channel's providerId for it).
 *
 * Once the first post is on X the delivery is reported sent at once (ctx.onResult), with
 * the first post's id: it carries the title, the opening of the body and the link, and a
 * retry of the job must never post it again. Replies follow in the same call; a reply
 * that fails is retried a few times within the call, and if X still refuses, the thread
 * is left incomplete (logged as a warning) rather than re-posted.
 */
export function createXChannel(options: XChannelOptions, deps: XChannelDeps): Channel<XPost> {
  const logger = deps.logger.bindings().channel === 'x' ? deps.logger : deps.logger.child({ channel: 'x' });
  const now = deps.now ?? Date.now;
  const auth: 'oauth1' | 'oauth2' = options.oauth1 ? 'oauth1' : 'oauth2';
  if (!options.oauth1 && !options.oauth2Token) {
    throw new ChannelError(
      'x',
      'permanent',
      'X の認証情報がありません。X_API_KEY・X_API_SECRET・X_ACCESS_TOKEN・X_ACCESS_SECRET か X_OAUTH2_TOKEN を設定してください / no X credentials: set X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and X_ACCESS_SECRET, or X_OAUTH2_TOKEN',
    );
  }
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    throw new ChannelError('x', 'permanent', `X_API_BASE_URL is not a URL: ${options.baseUrl}`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') {
    throw new ChannelError('x', 'permanent', `X_API_BASE_URL must be https:// (or http:// for a local fake)`);
  }
  const plain = base.protocol === 'http:';
  if (deps.httpAgent && plain === deps.httpAgent instanceof https.Agent) {
    throw new ChannelError(
      'x',
      'permanent',
      `X_API_BASE_URL is ${base.protocol}// but the agent given is for ${plain ? 'https' : 'http'}: they must match`,
    );
  }
  const ownAgent = deps.httpAgent
    ? undefined
    : plain
      ? new http.Agent({ keepAlive: true })
      : new https.Agent({ keepAlive: true });
  const agent = (deps.httpAgent ?? ownAgent) as http.Agent;
  const origin = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
  // twitter-api-v2 builds https://api.x.com/… URLs; this rewrites them before they are signed.
  const redirect: ITwitterApiClientPlugin = {
    onBeforeRequestConfig({ params }) {
      params.url = params.url.replace(/^https:\/\/(api|upload)\.(x|twitter)\.com/, origin);
    },
  };
  const settings = { httpAgent: agent, plugins: [redirect] };
  const client = options.oauth1
    ? new TwitterApi(options.oauth1, settings)
    : new TwitterApi(options.oauth2Token as string, settings);
  const timeout = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const replyDelays = options.replyRetryDelaysMs ?? DEFAULT_REPLY_RETRY_DELAYS_MS;
  const progress = new Map<string, Progress>();

  async function post(text: string, replyTo: string | undefined): Promise<string> {
    const body = replyTo ? { text, reply: { in_reply_to_tweet_id: replyTo } } : { text };
    const result = await client.v2.post<TweetV2PostTweetResult>('tweets', body, { timeout });
    const id = result?.data?.id;
    if (typeof id !== 'string' || id === '') throw new Error('X answered without the id of the new post');
    return id;
  }

  function remember(key: string, state: Progress) {
    progress.delete(key);
    progress.set(key, state);
    if (progress.size > PROGRESS_KEPT) progress.delete(progress.keys().next().value as string);
  }

  async function postFirst(text: string, ctx: SendContext): Promise<string> {
    // A routine post waits while an alert of this channel is being posted in this process.
    await ctx.waitTurn?.();
    if (ctx.signal.aborted) {
      throw new ChannelError('x', 'retryable', 'the send was aborted before posting', { cause: ctx.signal.reason });
    }
    try {
      return await post(text, ctx.replyTo);
    } catch (err) {
      const failure = describe(err, ctx.attempt);
      if (!(ctx.replyTo && failure.replyGone)) throw failure.error;
      // The earlier post was deleted: the correction still has to reach residents, so it goes on its own.
      logger.warn(
        { deliveryKey: ctx.deliveryKey, replyTo: ctx.replyTo },
        'the earlier post is deleted or not visible; posting without replying to it',
      );
      try {
        return await post(text, undefined);
      } catch (again) {
        throw describe(again, ctx.attempt).error;
      }
    }
  }

  /** Posts the parts after the first; never throws (the delivery is already sent). */
  async function postReplies(state: Progress, ctx: SendContext): Promise<void> {
    const total = state.texts.length;
    while (state.done < total) {
      const text = state.texts[state.done] as string;
      for (let tries = 0; ; tries++) {
        await ctx.waitTurn?.();
        if (ctx.signal.aborted) {
          logger.warn(
            { deliveryKey: ctx.deliveryKey, posted: state.done, of: total },
            'X thread left incomplete: the send was aborted',
          );
          return;
        }
        try {
          state.lastId = await post(text, state.lastId);
          state.done++;
          break;
        } catch (err) {
          const failure = describe(err, ctx.attempt);
          if (failure.duplicate) {
            // An earlier try went through and its answer was lost; its id is unknown, so the
            // next part replies to the one before it.
            logger.warn(
              { deliveryKey: ctx.deliveryKey, part: state.done + 1, of: total },
              'X refused a thread part as duplicate: an earlier try posted it',
            );
            state.done++;
            break;
          }
          const { kind, retryAfterMs } = failure.error;
          const delay = replyDelays[tries];
          const wait = Math.max(delay ?? 0, retryAfterMs ?? 0);
          if (kind === 'permanent' || delay === undefined || wait > REPLY_WAIT_MAX_MS) {
            logger.warn(
              {
                deliveryKey: ctx.deliveryKey,
                firstId: state.firstId,
                posted: state.done,
                of: total,
                reason: failure.error.message,
              },
              'X thread left incomplete: the first post and its link are up, the rest is on the notice page',
            );
            return;
          }
          await sleep(wait, ctx.signal);
        }
      }
    }
  }

  function describe(err: unknown, attempt: number): Failure {
    return classify(err, { auth, attempt, host: base.host, now: now() });
  }

  return {
    id: 'x',
    audience: 'public',
    maxBatch: 1,

    render(notice, locale) {
      try {
        return fitPost(notice, locale, { longText: options.longText, threadMax: options.threadMax });
      } catch (err) {
        throw new ChannelError(
          'x',
          'permanent',
          `cannot fit notice ${notice.id} revision ${notice.revision} into X posts: ${(err as Error).message}`,
          { cause: err },
        );
      }
    },

    async send(message, to, ctx) {
      if (to.length === 0) return [];
      const log = { deliveryKey: ctx.deliveryKey, attempt: ctx.attempt };
      const first = message.texts[0];
      if (first === undefined) throw new ChannelError('x', 'permanent', 'nothing to post: the rendered post is empty');
      let state = progress.get(ctx.deliveryKey);
      if (state && !sameTexts(state.texts, message.texts)) state = undefined;
      if (state) {
        logger.info(
          { ...log, firstId: state.firstId },
          'first post already made for this delivery; not posting it again',
        );
      } else {
        const id = await postFirst(first, ctx);
        state = { texts: message.texts, firstId: id, lastId: id, done: 1 };
        remember(ctx.deliveryKey, state);
      }
      const firstId = state.firstId;
      const results = to.map(
        (r): RecipientResult => ({ deliveryId: r.deliveryId, status: 'sent', providerId: firstId }),
      );
      for (const r of results) reportResult('x', ctx, r, logger);
      await postReplies(state, ctx);
      logger.info(
        {
          ...log,
          firstId,
          replyTo: ctx.replyTo,
          posted: state.done,
          of: message.texts.length,
          truncated: message.truncated,
        },
        'X post made',
      );
      return results;
    },

    async close() {
      ownAgent?.destroy();
    },
  };
}

function sameTexts(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

interface ClassifyContext {
  auth: 'oauth1' | 'oauth2';
  attempt: number;
  host: string;
  now: number;
}

/**
 * X's answer as a ChannelError a person can act on. The library's error objects hold the
 * signed request (and so the Authorization header): they are never kept as a cause, only
 * the status and X's own words are.
 */
function classify(err: unknown, ctx: ClassifyContext): Failure {
  const failure = (
    kind: ChannelError['kind'],
    message: string,
    extra: { retryAfterMs?: number; duplicate?: boolean; replyGone?: boolean } = {},
  ): Failure => ({
    error: new ChannelError('x', kind, message, {
      cause: new Error(message),
      ...(extra.retryAfterMs !== undefined ? { retryAfterMs: extra.retryAfterMs } : {}),
    }),
    duplicate: extra.duplicate ?? false,
    replyGone: extra.replyGone ?? false,
  });

  if (err instanceof ApiResponseError) {
    const status = err.code;
    const said = xMessage(err.data);
    if (status === 429) {
      const retryAfterMs = rateLimitWait(err.headers, ctx.now);
      const until = new Date(ctx.now + retryAfterMs).toISOString();
      return failure(
        'rate-limited',
        `X の投稿数の上限に達しました（429）。${until} 以降に再開します / X rate limit reached (429): resuming after ${until}`,
        { retryAfterMs },
      );
    }
    if (/duplicate content/i.test(said)) {
      const earlier =
        ctx.attempt > 1
          ? ' 前回の試行で投稿できていて、その応答が届かなかった可能性があります。アカウントのタイムラインを確認してください / An earlier attempt of this delivery probably went through and its answer was lost: check the account timeline.'
          : '';
      return failure(
        'permanent',
        `X が重複として投稿を拒否しました（${status} duplicate content）。同じ文面がこのアカウントからすでに投稿されています / X refused the post as duplicate content (${status}): the same text was already posted from this account.${earlier}`,
        { duplicate: true },
      );
    }
    if (
      (status === 403 || status === 400) &&
      /reply to a (Tweet|post)|in_reply_to_tweet_id|deleted or not visible/i.test(said)
    ) {
      return failure('permanent', `X refused the reply (${status}): ${said}`, { replyGone: true });
    }
    if (status === 401) {
      return failure(
        'permanent',
        ctx.auth === 'oauth1'
          ? 'X が認証を拒否しました（401）。X_API_KEY・X_API_SECRET（API Key and Secret）と X_ACCESS_TOKEN・X_ACCESS_SECRET（Access Token and Secret）が X Developer Portal の同じアプリの現在の値か確認し、再発行したなら新しい値を設定してください / X refused the credentials (401): check that X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN and X_ACCESS_SECRET are the current keys of one app in the X Developer Portal; if any was regenerated, set the new value'
          : 'X が X_OAUTH2_TOKEN を拒否しました（401）。OAuth 2.0 のユーザートークンは約 2 時間で失効します。新しいトークン（tweet.read tweet.write users.read）を設定するか、OAuth 1.0a の 4 つのキー（X_API_KEY ほか）を使ってください / X refused X_OAUTH2_TOKEN (401): OAuth 2.0 user tokens expire after about 2 hours; set a fresh token (scopes tweet.read tweet.write users.read) or use the four OAuth 1.0a keys (X_API_KEY…)',
      );
    }
    if (status === 403 && !/too long|shorter|invalid/i.test(said)) {
      return failure(
        'permanent',
        ctx.auth === 'oauth1'
          ? `X が投稿を拒否しました（403: ${said}）。X Developer Portal でアプリの User authentication settings の App permissions を「Read and write」にし、そのあと Access Token and Secret を再発行して X_ACCESS_TOKEN・X_ACCESS_SECRET に設定してください（権限の変更は再発行したトークンにだけ効きます）。アプリがプロジェクトに属していることも確認してください / X refused the post (403: ${said}): in the X Developer Portal set the app's permissions to "Read and write", then regenerate the Access Token and Secret and set X_ACCESS_TOKEN and X_ACCESS_SECRET (a permission change only applies to tokens made after it); also check that the app belongs to a Project`
          : `X が投稿を拒否しました（403: ${said}）。X_OAUTH2_TOKEN に tweet.write の権限がありません。tweet.read tweet.write users.read を許可したトークンを設定してください / X refused the post (403: ${said}): X_OAUTH2_TOKEN lacks the tweet.write scope; set a token granted tweet.read tweet.write users.read`,
      );
    }
    if (status >= 500 || status === 408) {
      return failure(
        'provider-down',
        `X API が一時的に応答できません（${status}）/ X API is unavailable for now (${status}): ${said}`,
      );
    }
    return failure(
      'permanent',
      `X が投稿を受け付けませんでした（${status}）/ X rejected the post (${status}): ${said}`,
    );
  }
  if (err instanceof ApiPartialResponseError) {
    return failure(
      'retryable',
      `X の応答が途中で切れました。投稿は受け付けられた可能性があります / X's answer was cut off (the post may have been accepted): ${err.responseError.message}`,
    );
  }
  if (err instanceof ApiRequestError) {
    // 1.29.1's requestError getter reads a field its constructor never sets; the socket's error is in _options.
    const inner = (err.requestError ?? (err as unknown as { _options?: { error?: unknown } })._options?.error) as
      | NodeJS.ErrnoException
      | undefined;
    const what = networkErrorCode(inner) ?? inner?.message ?? err.message;
    // No answer at all (refused, reset, DNS, TLS, a timeout): X is not reached.
    return failure(
      'provider-down',
      `X API（${ctx.host}）に接続できません（${what}）/ cannot reach the X API at ${ctx.host} (${what}): check X_API_BASE_URL and the network`,
    );
  }
  return failure('retryable', `X post failed: ${err instanceof Error ? err.message : String(err)}`);
}

/** X's own words from a problem document (v2) or an errors array (v1.1-style), kept short. */
function xMessage(data: unknown): string {
  const d = (data ?? {}) as {
    detail?: unknown;
    title?: unknown;
    error?: unknown;
    errors?: Array<{ message?: unknown }>;
  };
  const parts = [
    typeof d.detail === 'string' ? d.detail : undefined,
    ...(Array.isArray(d.errors) ? d.errors.map((e) => (typeof e?.message === 'string' ? e.message : undefined)) : []),
    typeof d.error === 'string' ? d.error : undefined,
  ].filter((p): p is string => Boolean(p));
  const text = (parts.length > 0 ? parts.join('; ') : typeof d.title === 'string' ? d.title : 'no detail')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

/**
 * How long to wait after a 429: until the exhausted window resets. X sends the 15-minute
 * window (x-rate-limit-*) and, on plans with daily caps, 24-hour ones for the user and the
 * app; whichever is exhausted decides. Reset times are whole epoch seconds, so a second
 * is added. Without any header, a minute.
 */
export function rateLimitWait(headers: Record<string, string | string[] | undefined>, now: number): number {
  const h = (k: string) => {
    const v = headers[k];
    return Array.isArray(v) ? v[0] : v;
  };
  const resets: number[] = [];
  for (const prefix of ['x-user-limit-24hour', 'x-app-limit-24hour']) {
    if (h(`${prefix}-remaining`) === '0') resets.push(Number(h(`${prefix}-reset`)));
  }
  if (resets.length === 0 || h('x-rate-limit-remaining') === '0') resets.push(Number(h('x-rate-limit-reset')));
  const reset = Math.max(...resets.filter(Number.isFinite));
  let wait: number;
  if (Number.isFinite(reset)) wait = reset * 1000 - now + 1000;
  else {
    wait = retryAfterMs(h('retry-after'), now) ?? DEFAULT_RATE_LIMIT_WAIT_MS;
  }
  return Math.min(Math.max(wait, 1_000), 24 * 60 * 60 * 1000);
}
