import { createHash } from 'node:crypto';
import { z } from 'zod';
import { loadDkim } from '../../channels/mail/dkim.ts';
import {
  createTransactionalMailer,
  createTransactionalTransport,
  type TransactionalMailer,
  type TransactionalSend,
} from '../../channels/mail/transactional.ts';
import type { Deps } from '../deps.ts';
import type { FieldErrors } from '../domain/bilingual.ts';
import { mailboxKey, mailDomainOf } from '../domain/mailbox.ts';
import { LOCALES, type Locale } from '../domain/notice.ts';
import { invalidFields } from '../domain/refusal.ts';
import { createRateLimiter, type RateLimiter } from '../queue/rate-limit.ts';
import type { ResidentChoices, ResidentSubscription } from '../store/resident-subscriptions.ts';
/**
 * Residents signing themselves up for mail, confirming, changing their choices and
 * leaving. Nothing here tells a caller whether an address is known: every request for an
 * address gets the same answer and sends exactly one mail (a confirmation, or a manage
 * link to an address already confirmed), or none when a rate limit is reached.
 */

export type ResidentServiceDeps = Pick<Deps, 'config' | 'logger' | 'store' | 'redis' | 'links' | 'catalogue'>;

export interface SignupRequest extends ResidentChoices {
  /** Trimmed and lower-cased. */
  email: string;
}

export type RequestOutcome = { outcome: 'accepted' } | { outcome: 'limited'; retryAfterSeconds: number };

export interface ResidentView extends ResidentSubscription {
  /** The subscriber's mail contact, if it has one. */
  mail: { contactId: number; active: boolean; verified: boolean; unsubscribeUrl: string } | undefined;
  /** The signed manage link, for the resident to keep. */
  manageUrl: string;
}

export interface ResidentServiceOptions {
  /** Default: SMTP_URL or the outbox, as the notices use. */
  mailer?: TransactionalMailer;
  limiter?: RateLimiter;
  now?: () => Date;
  /** How long a confirmation link works; default 24 h. */
  confirmTtlMs?: number;
  /** How long a manage link mailed on request works; default 24 h. */
  manageTtlMs?: number;
}

export type ResidentService = ReturnType<typeof createResidentService>;

const HOUR_MS = 60 * 60 * 1000;
/** Rows of a staff import handled at once (the transactional mailer's batch pool has 4 connections). */
const IMPORT_CONCURRENCY = 4;

const Email = z.email().max(254);

/** Keys in Redis never hold an address (mail or IP) in clear. */
const hashed = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 22);
/** One count per mailbox, however its address is spelt (`+tag`, Gmail's dots, upper case). */
const addressKey = (email: string) => `address:${hashed(mailboxKey(email))}`;
const domainKey = (email: string) => `domain:${hashed(mailDomainOf(email))}`;
/** A form's list of unknown topics or areas is answered with this many at most, not one line per value sent. */
const MAX_BAD_CHOICES_NAMED = 20;

const invalid = (fields: FieldErrors) => invalidFields(fields);

export function createResidentService(deps: ResidentServiceDeps, options: ResidentServiceOptions = {}) {
  const { config, catalogue, links } = deps;
  const logger = deps.logger.child({ component: 'residents' });
  const subscriptions = deps.store.residents;
  const tokens = deps.store.residentTokens;
  const limiter = options.limiter ?? createRateLimiter(deps.redis, `${config.queuePrefix}:ratelimit:signup`);
  const mailer =
    options.mailer ??
    createTransactionalMailer(
      {
        from: config.mailFrom,
        transport: createTransactionalTransport({
          smtpUrl: config.smtpUrl,
          outboxDir: config.outboxDir,
          dkim: config.mailDkim && loadDkim(config.mailDkim),
        }),
      },
      { logger: deps.logger.child({ component: 'residents-mail' }) },
    );
  const now = options.now ?? (() => new Date());
  const confirmTtlMs = options.confirmTtlMs ?? 24 * HOUR_MS;
  const manageTtlMs = options.manageTtlMs ?? 24 * HOUR_MS;
  const limits = config.signupLimits;
  const mailCaps = config.signupMailCaps;
  const topicIds = new Set(catalogue.topics.map((t) => t.id));
  const areaCodes = new Set(catalogue.areas.map((a) => a.code));
  const base = config.publicBaseUrl;
  const city = { cityName: config.city.name, cityNameEn: config.city.nameEn };
  // With no districts configured the city is the one area, and choosing it means the whole city.
  const cityOnly = catalogue.areas.every((a) => a.code === config.city.code);

  /** The topics, areas and language of a form or request; problems go into `fields`. */
  function choicesFrom(input: { topics?: unknown; areas?: unknown; locale?: unknown }, fields: FieldErrors) {
    const list = (v: unknown): string[] =>
      v === undefined || v === null ? [] : (Array.isArray(v) ? v : [v]).filter((x) => typeof x === 'string');
    const topics = [...new Set(list(input.topics))];
    const areas = [...new Set(list(input.areas))].filter((a) => !(cityOnly && a === config.city.code));
    const badTopics = topics.filter((t) => !topicIds.has(t)).slice(0, MAX_BAD_CHOICES_NAMED);
    if (badTopics.length > 0) {
      fields.topics = badTopics.map((t) => ({
        ja: `選べない分野です: ${t}（選べるもの: ${[...topicIds].join(', ')}）`,
        en: `unknown topic: ${t} (known: ${[...topicIds].join(', ')})`,
      }));
    }
    const badAreas = areas.filter((a) => !areaCodes.has(a)).slice(0, MAX_BAD_CHOICES_NAMED);
    if (badAreas.length > 0) {
      fields.areas = badAreas.map((a) => ({
        ja: `選べない地域です: ${a}（選べるもの: ${[...areaCodes].join(', ')}）`,
        en: `unknown area: ${a} (known: ${[...areaCodes].join(', ')})`,
      }));
    }
    const locale = input.locale === undefined || input.locale === '' ? 'ja' : input.locale;
    if (!LOCALES.includes(locale as Locale)) {
      fields.locale = [{ ja: 'ja か en を選んでください', en: 'choose ja or en' }];
    }
    return { topics, areas, locale: locale as Locale } satisfies ResidentChoices;
  }

  /**
   * Each limit counts a request only once the ones before it let it through: the client's,
   * the mailbox's, then the caps on mail to one domain and on all sign-up mail, which stop
   * a flood from many addresses (a botnet, or a list of a domain's mailboxes) from making
   * the city's mail server a spammer in the receivers' eyes.
   */
  async function overLimit(email: string, client: string): Promise<RequestOutcome | undefined> {
    const gates = [
      { limit: 'client', key: `client:${hashed(client)}`, max: limits.perClient },
      { limit: 'address', key: addressKey(email), max: limits.perAddress },
      { limit: 'domain', key: domainKey(email), max: mailCaps.perDomain },
      { limit: 'global', key: 'global', max: mailCaps.global },
    ] as const;
    for (const gate of gates) {
      const hit = await limiter.hit(gate.key, gate.max, limits.windowSeconds);
      if (hit.allowed) continue;
      // A cap reached for everyone at a domain, or for the whole city, is worth an operator's look (once a window).
      if (gate.limit === 'domain' || gate.limit === 'global') {
        if (hit.count === gate.max + 1) {
          logger.warn(
            { limit: gate.limit, max: gate.max, windowSeconds: limits.windowSeconds },
            'sign-up mail cap reached: no more sign-up mail until the window ends',
          );
        }
      }
      logger.info({ limit: gate.limit, count: hit.count }, 'sign-up request over the rate limit; no mail sent');
      return { outcome: 'limited', retryAfterSeconds: hit.retryAfterSeconds };
    }
    return undefined;
  }

  /** A failed send is logged, never shown: the answer must not depend on the address. */
  async function mail(
    kind: 'confirm' | 'manage-link',
    to: string,
    locale: Locale,
    url: string,
    ttlMs: number,
    send: TransactionalSend = mailer.send,
  ) {
    try {
      await send(kind, to, locale, { url, validHours: Math.round(ttlMs / HOUR_MS), ...city });
      return true;
    } catch (err) {
      logger.error({ kind, err: { message: (err as Error).message } }, 'sign-up mail not sent');
      return false;
    }
  }

  async function mailManageLink(subscriberId: number, contactId: number, email: string, locale: Locale) {
    const secret = await tokens.issue(subscriberId, 'manage', contactId, manageTtlMs, now());
    await mail('manage-link', email, locale, `${base}/manage?t=${secret}`, manageTtlMs);
  }

  async function mailConfirmation(
    subscriberId: number,
    contactId: number,
    email: string,
    locale: Locale,
    send?: TransactionalSend,
  ) {
    const secret = await tokens.issue(subscriberId, 'confirm', contactId, confirmTtlMs, now());
    return mail('confirm', email, locale, `${base}/subscribe/confirm?t=${secret}`, confirmTtlMs, send);
  }

  async function view(subscription: ResidentSubscription): Promise<ResidentView> {
    const contact = subscription.contacts.find((c) => c.channel === 'mail');
    return {
      ...subscription,
      mail: contact && {
        contactId: contact.contactId,
        active: contact.active,
        verified: contact.verified,
        unsubscribeUrl: links.unsubscribe(contact.contactId),
      },
      manageUrl: links.manage(subscription.subscriberId, subscription.manageNonce),
    };
  }

  return {
    /**
     * Checks a sign-up or a change of choices against the catalogue; throws an invalid Refusal
     * naming each bad field. Topics may be empty (emergencies still arrive); areas empty
     * means the whole city.
     */
    normalise(input: { email?: unknown; topics?: unknown; areas?: unknown; locale?: unknown }): SignupRequest {
      const fields: FieldErrors = {};
      const email = typeof input.email === 'string' ? input.email.trim().toLowerCase() : '';
      if (!Email.safeParse(email).success) {
        fields.email = [
          email === ''
            ? { ja: 'メールアドレスを入力してください', en: 'enter an e-mail address' }
            : {
                ja: 'メールアドレスの形が正しくありません（例: taro@example.jp）',
                en: 'not a valid e-mail address (e.g. taro@example.jp)',
              },
        ];
      }
      const choices = choicesFrom(input, fields);
      if (Object.keys(fields).length > 0) throw invalid(fields);
      return { email, ...choices };
    },

    /** Like normalise, for a change of choices on the manage page (no address). */
    normaliseChoices(input: { topics?: unknown; areas?: unknown; locale?: unknown }): ResidentChoices {
      const fields: FieldErrors = {};
      const choices = choicesFrom(input, fields);
      if (Object.keys(fields).length > 0) throw invalid(fields);
      return choices;
    },

    /**
     * A sign-up from the page or the public API, for a resident identified by `client`
     * (an IP address) for the per-client limit. Same outcome whatever the address's state.
     */
    async requestSignup(request: SignupRequest, client: string): Promise<RequestOutcome> {
      const limited = await overLimit(request.email, client);
      if (limited) return limited;
      const choices: ResidentChoices = { topics: request.topics, areas: request.areas, locale: request.locale };
      let contact = await subscriptions.mailContact(request.email);
      if (!contact) {
        const made = await subscriptions.createPendingMail(request.email, choices, now());
        if (made.created) {
          await mailConfirmation(made.subscriberId, made.contactId, request.email, request.locale);
          logger.info({ subscriberId: made.subscriberId }, 'sign-up: confirmation mailed to a new address');
          return { outcome: 'accepted' };
        }
        contact = made;
      }
      if (contact.verified && contact.active) {
        // Choices change only through the manage link, never by someone who knows the address.
        await mailManageLink(contact.subscriberId, contact.contactId, request.email, request.locale);
        logger.info({ subscriberId: contact.subscriberId }, 'sign-up: address already confirmed, manage link mailed');
        return { outcome: 'accepted' };
      }
      // Not confirmed yet, or stopped earlier: nothing is sent to it until the new link is used.
      await subscriptions.setChoices(contact.subscriberId, choices, now());
      await mailConfirmation(contact.subscriberId, contact.contactId, request.email, request.locale);
      logger.info({ subscriberId: contact.subscriberId }, 'sign-up: confirmation mailed again');
      return { outcome: 'accepted' };
    },

    /**
     * Staff import of residents from paper or an old list (POST /v1/subscribers, admins).
     * A list says nothing about consent now, so an address not known here is signed up as
     * the page would (waiting, nothing sent to it) and mailed a confirmation; an address
     * known in any state is left exactly as the resident set it (choices, language, an
     * unsubscribe). Rows are already checked and merged by address. A new address whose
     * confirmation cannot be sent is not kept, so importing the file again retries it
     * (`unsent`). The counts are for the audit log: the caller's answer must not depend on
     * each address's state.
     */
    async importSignups(rows: SignupRequest[]): Promise<{ invited: number; known: number; unsent: number }> {
      let invited = 0;
      let known = 0;
      let unsent = 0;
      let next = 0;
      const one = async (row: SignupRequest, send: TransactionalSend) => {
        if (await subscriptions.mailContact(row.email)) {
          known++;
          return;
        }
        const choices: ResidentChoices = { topics: row.topics, areas: row.areas, locale: row.locale };
        const made = await subscriptions.createPendingMail(row.email, choices, now());
        if (!made.created) {
          known++;
          return;
        }
        if (await mailConfirmation(made.subscriberId, made.contactId, row.email, row.locale, send)) {
          invited++;
          return;
        }
        await subscriptions.delete(made.subscriberId);
        unsent++;
      };
      // As many at once as the batch's pool has connections: mail, not the store, is the slow part.
      const all = async (send: TransactionalSend) => {
        const runner = async () => {
          for (let row = rows[next++]; row; row = rows[next++]) await one(row, send);
        };
        await Promise.all(Array.from({ length: Math.min(IMPORT_CONCURRENCY, rows.length) }, runner));
      };
      await (mailer.batch ? mailer.batch(all) : all(mailer.send));
      logger.info(
        { rows: rows.length, invited, known, unsent },
        'subscriber import: confirmations mailed to new addresses',
      );
      return { invited, known, unsent };
    },

    /** "Send me my manage link": mails one to a confirmed address, nothing otherwise; same outcome either way. */
    async requestManageLink(emailInput: string, locale: Locale, client: string): Promise<RequestOutcome> {
      const email = emailInput.trim().toLowerCase();
      if (!Email.safeParse(email).success)
        throw invalid({ email: [{ ja: 'メールアドレスの形が正しくありません', en: 'not a valid e-mail address' }] });
      const limited = await overLimit(email, client);
      if (limited) return limited;
      const contact = await subscriptions.mailContact(email);
      if (contact?.verified) await mailManageLink(contact.subscriberId, contact.contactId, email, locale);
      else logger.info('manage link requested for an address with no confirmed subscription; nothing sent');
      return { outcome: 'accepted' };
    },

    /** Whether a confirmation link still works, without using it (the page shows a button first). */
    async confirmable(secret: string): Promise<boolean> {
      return (await tokens.find(secret, 'confirm', now())) !== undefined;
    },

    /** Uses a confirmation link: the address gets notices from now on. Undefined when unknown, used or expired. */
    async confirm(secret: string): Promise<ResidentView | undefined> {
      const holder = await tokens.find(secret, 'confirm', now());
      if (!holder || holder.contactId === null) return undefined;
      await subscriptions.activate(holder.contactId, now());
      // One use: an old link in the mailbox must not switch mail back on after an unsubscribe.
      await tokens.revoke(secret);
      logger.info({ subscriberId: holder.subscriberId }, 'sign-up confirmed');
      const subscription = await subscriptions.get(holder.subscriberId);
      return subscription && view(subscription);
    },

    /**
     * The subscriber a manage token opens: a signed one from a notice mail
     * (`<id>.<signature>`), or a stored one mailed on request. Undefined otherwise.
     */
    async subscriberOf(token: string): Promise<number | undefined> {
      if (token.includes('.')) {
        // Signed over the subscriber's nonce now: a link mailed before an unsubscribe fails here.
        const subscriberId = links.manageTokenSubscriber(token);
        if (subscriberId === undefined) return undefined;
        const nonce = await subscriptions.manageNonce(subscriberId);
        return nonce !== undefined && links.verifyManageToken(token, nonce) ? subscriberId : undefined;
      }
      return (await tokens.find(token, 'manage', now()))?.subscriberId;
    },

    /** Reads a subscriber's choices, or replaces them when `changes` is given. Undefined when deleted. */
    async manage(subscriberId: number, changes?: ResidentChoices): Promise<ResidentView | undefined> {
      if (changes && !(await subscriptions.setChoices(subscriberId, changes, now()))) return undefined;
      const subscription = await subscriptions.get(subscriberId);
      if (changes && subscription) logger.info({ subscriberId }, 'resident changed topics, areas or language');
      return subscription && view(subscription);
    },

    /**
     * "Resume" on the manage page: mails a fresh confirmation to the stopped address, and
     * only its link switches mail back on. A manage link proves less than it seems (it may
     * be an old one forwarded, or read from a shared mailbox), and a resident who left must
     * say yes again from the mailbox itself. 'active': nothing to resume; 'gone': no mail
     * contact; 'limited': over the sign-up limits, nothing sent.
     */
    async resume(subscriberId: number, client: string): Promise<'confirmation-sent' | 'active' | 'gone' | 'limited'> {
      const subscription = await subscriptions.get(subscriberId);
      const contact = subscription?.contacts.find((c) => c.channel === 'mail');
      if (!subscription || !contact) return 'gone';
      if (contact.active) return 'active';
      if (await overLimit(contact.address, client)) return 'limited';
      await mailConfirmation(subscriberId, contact.contactId, contact.address, subscription.locale);
      logger.info({ subscriberId }, 'resident asked to resume mail; confirmation mailed');
      return 'confirmation-sent';
    },

    /** "Delete my data": the subscriber, its contacts, choices and links. Delivery rows keep nothing personal. */
    async deleteData(subscriberId: number): Promise<boolean> {
      const deleted = await subscriptions.delete(subscriberId);
      if (deleted) logger.info({ subscriberId }, 'resident deleted their data');
      return deleted;
    },

    /** Removes sign-ups never confirmed within `olderThanMs` (default 7 days) and expired links. */
    async purge(olderThanMs = 7 * 24 * HOUR_MS): Promise<{ unconfirmed: number; tokens: number }> {
      const at = now();
      const unconfirmed = await subscriptions.purgeUnconfirmed(new Date(at.getTime() - olderThanMs));
      return { unconfirmed, tokens: await tokens.purgeExpired(at) };
    },

    close(): void {
      mailer.close();
    },
  };
}
