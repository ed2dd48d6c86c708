import type { ChannelId, Locale, NoticeView } from '../src/domain/notice.ts';

export type { ChannelId, Locale, NoticeView };

/** One recipient of a batch: a delivery row joined to its contact. */
export interface Recipient {
  deliveryId: number;
  /** The contact behind the delivery; null for a public channel's one post. */
  contactId: number | null;
  /** The e-mail address, LINE user id, push endpoint… or '*' for a public channel. */
  address: string;
  locale: Locale;
  /** Subscriber-specific links (unsubscribe, manage); absent for public channels. */
  unsubscribeUrl?: string;
  manageUrl?: string;
}

export type RecipientResult =
  | { deliveryId: number; status: 'sent'; providerId?: string }
  /** Never retried; deactivate: the address is dead (bad mailbox, blocked, 410). */
  | { deliveryId: number; status: 'failed'; reason: string; deactivate?: boolean }
  /**
   * This recipient alone may succeed later (SMTP 4xx); the job is retried for it.
   * rateLimited: the provider asked to slow down (HTTP 429). That is no fault of the
   * delivery, so waiting it out should not use up the delivery's attempts.
   * unreachable: this recipient's own provider is down (a webhook receiver or a push service
   * that does not answer or answers 5xx), where each recipient has a provider of its own and
   * the channel as a whole is not down. Also no fault of the delivery: waited out likewise.
   */
  | {
      deliveryId: number;
      status: 'retry';
      reason: string;
      retryAfterMs?: number;
      rateLimited?: boolean;
      unreachable?: boolean;
    };

export interface SendContext {
  /** Stable across retries of one batch: providers that take an idempotency key get it. */
  deliveryKey: string;
  /** 1 for the first attempt. */
  attempt: number;
  signal: AbortSignal;
  notice: NoticeView;
  /**
   * A channel that sends a batch message by message awaits this before each one: a routine
   * batch then waits while an alert of the same channel is sending in this process, so the
   * alert has the provider connections to itself (undefined: go on at once).
   */
  waitTurn?: () => Promise<void> | undefined;
  /**
   * Public channels: what this channel's provider answered for the newest earlier revision
   * of the notice (its providerId), so a correction or cancellation can reply to that post.
   */
  replyTo?: string;
  /**
   * Called as each recipient finishes, so the worker can record progress while the
   * batch is still sending: a worker killed mid-batch then resends only what it had not
   * recorded.
   */
  onResult?: (result: RecipientResult) => void;
}

export interface Channel<Rendered = unknown> {
  id: ChannelId;
  /** subscribers: one delivery per contact; public: one post per notice revision. */
  audience: 'subscribers' | 'public';
  /** Recipients per send() call. */
  maxBatch: number;
  /**
   * True when each recipient's message carries their own unsubscribe and manage links
   * (mail). Only then does the worker sign those links: two HMACs per recipient were a
   * tenth of a LINE fan-out's CPU for links nothing sent.
   */
  personalLinks?: boolean;
  /** Pure: the same notice and locale give the same message, within the channel's limits. */
  render(notice: NoticeView, locale: Locale): Rendered;
  /** Sends one rendered message to a batch; one result per recipient. */
  send(message: Rendered, to: Recipient[], ctx: SendContext): Promise<RecipientResult[]>;
  /**
   * Asked once per notice revision before its fan-out, with the audience size. Throwing a
   * ChannelError refuses the whole revision on this channel (e.g. LINE's monthly quota
   * cannot cover it): every delivery is then failed with that reason, none sent.
   */
  admit?(notice: NoticeView, audience: number): Promise<void>;
  /**
   * True when this revision should go as one post to everyone (e.g. a LINE broadcast of a
   * city-wide emergency) instead of one delivery per subscriber.
   */
  broadcast?(notice: NoticeView): boolean;
  /** Answers whether the provider can be reached (readiness, start-up log). */
  check?(): Promise<void>;
  close?(): Promise<void>;
}

/**
 * provider-down: the provider as a whole cannot take anything (it refuses or resets
 * connections, times out, fails DNS or TLS, answers 5xx or SMTP 421 to every recipient):
 * no recipient's fault, so it must spend none of their attempts. Only what a provider says
 * about one recipient (a 550 for one mailbox, LINE's 400 for one user) is theirs.
 */
export type ChannelErrorKind = 'retryable' | 'rate-limited' | 'permanent' | 'provider-down';

/**
 * A failure of a whole send() call. The worker turns it into BullMQ behaviour in one
 * place (workers/retry-policy.ts): permanent is never retried, rate-limited pauses the
 * channel's queue for retryAfterMs, provider-down pauses it too and probes the provider
 * with backoff (retryAfterMs, when given, is the earliest probe) using no attempt, until
 * the notice expires or DELIVERY_GIVE_UP_AFTER; retryable backs off with jitter.
 */
export class ChannelError extends Error {
  override name = 'ChannelError';
  readonly channel: ChannelId;
  readonly kind: ChannelErrorKind;
  readonly retryAfterMs: number | undefined;

  constructor(
    channel: ChannelId,
    kind: ChannelErrorKind,
    message: string,
    options: { cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(`${channel}: ${message}`, { cause: options.cause });
    this.channel = channel;
    this.kind = kind;
    this.retryAfterMs = options.retryAfterMs;
  }
}
