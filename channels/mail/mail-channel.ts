import type { NodemailerError, SendMailOptions } from 'nodemailer';
import type { Logger } from 'pino';
import { logBatch, reportResult } from '../report.ts';
import { sendEach } from '../shared/send-each.ts';
import { type Channel, ChannelError, type Recipient, type RecipientResult, type SendContext } from '../types.ts';
import type { DkimSigning } from './dkim.ts';
import { loadMailTemplates, personaliseMail, type RenderedMail, renderMail } from './render-mail.ts';
import { createMailTransport, type MailTransport, MailTransportSettingsError, OUTBOX_CODE } from './transport.ts';

export interface MailOptions {
  /** The From header, e.g. `"菊池市 防災・お知らせ" <noreply@city.example.jp>`; its domain names Message-IDs. */
  from: string;
  /** smtp:// (STARTTLS when offered) or smtps://, may carry user:pass. Unset: write to outboxDir. */
  smtpUrl?: string;
  /** Used when smtpUrl is unset: every message becomes an .eml file here (created if missing). */
  outboxDir?: string;
  /** SMTP connections in the pool, and messages in flight per send(); default 8. */
  connections?: number;
  /** Recipients per send(); default 100. */
  batch?: number;
  /** Address for the mailto: half of List-Unsubscribe, for mail clients without one-click. */
  unsubscribeMailto?: string;
  templatesDir?: string;
  /**
   * How long the SMTP client waits, in ms: to connect (default 10 s), for the greeting
   * (10 s), and for any answer on an open connection (60 s). A server that stops
   * answering costs at most this per attempt, and the attempt is retried.
   */
  timeouts?: { connectionMs?: number; greetingMs?: number; socketMs?: number };
  /**
   * How long every mail batch waits when the relay answers each message of a send 421
   * "try again later" (its own throttle or a restart); default 60 s. SMTP has no
   * Retry-After, so this stands in for it. The wait uses none of the deliveries' attempts.
   */
  throttleWaitMs?: number;
  /** Sign every message (loadDkim in ./dkim.ts reads the key); unset: unsigned. */
  dkim?: DkimSigning | undefined;
}

export interface MailDeps {
  logger: Logger;
}

/** Nodemailer error codes that mean the server was not reached or the connection broke. */
const CONNECTION_CODES = new Set([
  'ECONNECTION',
  'ETIMEDOUT',
  'ESOCKET',
  'EDNS',
  'ETLS',
  'EPROXY',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const AUTH_CODES = new Set(['EAUTH', 'ENOAUTH']);
/** Our code for a relay's 421: it is closing the connection and asks to be tried later. */
const TRY_LATER_CODE = 'ETRYLATER';
const DEFAULT_THROTTLE_WAIT_MS = 60_000;

/**
 * Enhanced status codes (RFC 3463) that say the mailbox itself is gone or malformed:
 * 5.1.1 no such user, 5.1.2 no such domain, 5.1.3 bad address syntax, 5.1.6 moved,
 * 5.1.10 null MX, 5.2.1 mailbox disabled. A bare 550 is not enough: servers also use it
 * for spam and policy refusals, and deactivating a resident for those would be wrong.
 */
const DEAD_MAILBOX_STATUS = /\b5\.(1\.(1|2|3|6|10)|2\.1)\b/;
const DEAD_MAILBOX_TEXT = /no such (user|mailbox)|user unknown|unknown user|does not exist|mailbox not found/i;

interface Outcome {
  result: RecipientResult;
  /** The failure is the server's or the network's, not this recipient's. */
  serverLevel: boolean;
  code?: string;
}

export function createMailChannel(options: MailOptions, deps: MailDeps): Channel<RenderedMail> {
  // Bound once: a caller that already bound channel=mail would otherwise get the key twice.
  const logger = deps.logger.bindings().channel === 'mail' ? deps.logger : deps.logger.child({ channel: 'mail' });
  const templates = loadMailTemplates(options.templatesDir);
  const concurrency = Math.max(1, options.connections ?? 8);
  const domain = fromDomain(options.from);
  if (!domain) {
    throw new ChannelError('mail', 'permanent', `the From address (MAIL_FROM) has no usable address: ${options.from}`);
  }
  const mailto = options.unsubscribeMailto?.replace(/^mailto:/i, '');
  const sender = mailTransport(options, concurrency);
  const throttleWaitMs = Math.max(1, options.throttleWaitMs ?? DEFAULT_THROTTLE_WAIT_MS);

  async function sendOne(message: RenderedMail, recipient: Recipient, ctx: SendContext): Promise<Outcome> {
    const { deliveryId } = recipient;
    // Without a personal link the footer still needs somewhere to go: the mailto, else the
    // notice page. Mail recipients always have one; this only guards a wiring mistake.
    const unsubscribeLink = recipient.unsubscribeUrl ?? (mailto ? `mailto:${mailto}` : ctx.notice.pageUrl);
    // Without a personal manage link: the page where a resident asks for one by address.
    const manageLink = recipient.manageUrl ?? ctx.notice.pageUrl.replace(/\/notices\/[^/]*$/, '/manage');
    const personal = personaliseMail(message, unsubscribeLink, manageLink);
    const stem = `${atext(ctx.deliveryKey)}.${deliveryId}`;
    const unsubscribe = [recipient.unsubscribeUrl, mailto].filter((v): v is string => Boolean(v));
    const headers: Record<string, string> = {
      'Auto-Submitted': 'auto-generated',
      'X-Hibiki-Notice': `${ctx.notice.id}; revision=${ctx.notice.revision}`,
    };
    // One-click (RFC 8058 §3.1) needs an https link: neither a mailto nor a plain http one may claim it.
    if (recipient.unsubscribeUrl?.startsWith('https://'))
      headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
    const mail: SendMailOptions = {
      from: options.from,
      // An address object, not a string: nodemailer would split "a@x, b@y" into two recipients.
      to: { name: '', address: recipient.address },
      subject: personal.subject,
      text: personal.text,
      html: personal.html,
      // The same delivery gets the same Message-ID on every attempt, so a copy sent twice
      // (a crash between the server's 250 and our record of it) is recognisable.
      messageId: `<${stem}@${domain}>`,
      headers,
      // Nested: one List-Unsubscribe header holding both URIs (a flat array makes two).
      ...(unsubscribe.length > 0 ? { list: { unsubscribe: [unsubscribe] } } : {}),
    };
    try {
      const providerId = await sender.deliver(mail, stem);
      return { result: { deliveryId, status: 'sent', providerId }, serverLevel: false };
    } catch (err) {
      return classify(err as NodemailerError, deliveryId, recipient.address);
    }
  }

  return {
    id: 'mail',
    audience: 'subscribers',
    maxBatch: Math.max(1, options.batch ?? 100),
    personalLinks: true,

    render(notice, locale) {
      return renderMail(notice, locale, templates);
    },

    async send(message, to, ctx) {
      const started = Date.now();
      // Set once the server cannot be reached or stops answering: every further recipient
      // would wait out the same timeout, so the rest of the batch is left for the retry.
      let serverDown = false;
      // One message per recipient (each has its own unsubscribe link), at most one in
      // flight per pooled connection, so an abort stops new messages promptly instead of
      // leaving a long queue inside nodemailer.
      const outcomes = await sendEach<Recipient, Outcome | undefined>(
        to,
        { concurrency, ctx, stop: () => serverDown },
        async (recipient) => {
          const outcome = await sendOne(message, recipient, ctx);
          if (outcome.serverLevel && outcome.code !== undefined && CONNECTION_CODES.has(outcome.code)) {
            serverDown = true;
          }
          if (outcome.result.status !== 'sent') {
            logger.debug(
              {
                deliveryKey: ctx.deliveryKey,
                deliveryId: recipient.deliveryId,
                status: outcome.result.status,
                code: outcome.code,
              },
              'mail not delivered',
            );
          }
          reportResult('mail', ctx, outcome.result, logger);
          return outcome;
        },
        () => undefined,
      );

      const notTried = serverDown
        ? 'not sent: the SMTP server stopped answering earlier in this batch'
        : 'not sent: the send was aborted before this recipient';
      const results = to.map(
        (r, i): RecipientResult =>
          outcomes[i]?.result ?? { deliveryId: r.deliveryId, status: 'retry', reason: notTried },
      );
      logBatch('mail', ctx, results, started, logger);

      // Every recipient not sent failed for a reason of the server's (the relay refused or
      // dropped the connection, timed out, answered 421, refused the login or the sender),
      // and none for a reason of their own: the relay is down, not their mailboxes. Those
      // sent before it went are already reported; the rest wait for it, spending no attempt.
      const unsent = outcomes.filter((o): o is Outcome => o !== undefined && o.result.status !== 'sent');
      if (unsent.length > 0 && unsent.every((o) => o.serverLevel)) {
        const left = to.length - outcomes.filter((o) => o?.result.status === 'sent').length;
        const what = left === 1 ? 'the delivery' : `any of ${left} deliveries`;
        const codes = unsent.map((o) => o.code);
        if (codes.every((c) => c === TRY_LATER_CODE)) throw tryLater(sender.target, what, throttleWaitMs);
        throw unreachable(sender.target, codes, Boolean(options.smtpUrl), what);
      }
      return results;
    },

    async check() {
      try {
        await sender.check();
      } catch (err) {
        const what = options.smtpUrl ? 'a connection' : 'a file';
        throw unreachable(sender.target, [codeOf(err as NodemailerError)], Boolean(options.smtpUrl), what, err);
      }
    },

    async close() {
      sender.close();
    },
  };
}

/** The channel's transport: a pool of `connections` to the relay, or the outbox; settings errors in the channel's words. */
function mailTransport(options: MailOptions, connections: number): MailTransport {
  try {
    return createMailTransport({
      smtpUrl: options.smtpUrl,
      outboxDir: options.outboxDir,
      pool: connections,
      timeouts: options.timeouts ?? {},
      dkim: options.dkim,
    });
  } catch (err) {
    if (!(err instanceof MailTransportSettingsError)) throw err;
    const message =
      err.problem === 'invalid-url'
        ? 'the SMTP URL is not a valid URL (expected smtp://host:port or smtps://…)'
        : err.problem === 'nowhere'
          ? 'neither an SMTP URL (SMTP_URL) nor an outbox directory (OUTBOX_DIR) is set'
          : err.message;
    throw new ChannelError('mail', 'permanent', message);
  }
}

function classify(err: NodemailerError, deliveryId: number, address: string): Outcome {
  const code = codeOf(err);
  const smtpCode = typeof err.responseCode === 'number' ? err.responseCode : undefined;
  if (smtpCode === 421) {
    // RFC 5321 §4.2: the server is closing the connection, for every message alike
    // (a throttle, a restart), whichever command it answered; not the sender's fault.
    const reason = `SMTP ${redact(err.response ?? '421', address)}${err.command ? ` (at ${err.command})` : ''}`;
    return { result: { deliveryId, status: 'retry', reason }, serverLevel: true, code: TRY_LATER_CODE };
  }
  if (smtpCode !== undefined && smtpCode >= 500 && err.command === 'MAIL FROM') {
    // The sender refused: wrong for every recipient alike, so it is the channel's problem.
    const reason = `SMTP ${redact(err.response ?? String(smtpCode), address)} (at MAIL FROM)`;
    return { result: { deliveryId, status: 'retry', reason }, serverLevel: true, code: 'EMAILFROM' };
  }
  if (smtpCode !== undefined) {
    const reason = `SMTP ${redact(err.response ?? String(smtpCode), address)}${err.command ? ` (at ${err.command})` : ''}`;
    if (AUTH_CODES.has(err.code ?? '') || err.command?.startsWith('AUTH')) {
      // A refused login refuses every recipient alike: the job retries, a person fixes SMTP_URL.
      return { result: { deliveryId, status: 'retry', reason }, serverLevel: true, code: 'EAUTH' };
    }
    if (smtpCode >= 400 && smtpCode < 500) {
      return { result: { deliveryId, status: 'retry', reason }, serverLevel: false, code };
    }
    if (smtpCode >= 500) {
      const text = err.response ?? '';
      const deactivate =
        smtpCode === 551 || smtpCode === 553 || DEAD_MAILBOX_STATUS.test(text) || DEAD_MAILBOX_TEXT.test(text);
      return { result: { deliveryId, status: 'failed', reason, deactivate }, serverLevel: false, code };
    }
  }
  if (code === 'EENVELOPE' && err.message?.startsWith('Invalid sender')) {
    return {
      result: { deliveryId, status: 'retry', reason: 'invalid sender address' },
      serverLevel: true,
      code: 'EMAILFROM',
    };
  }
  if (code === 'EENVELOPE') {
    // Refused by nodemailer before any SMTP: the stored address cannot be sent to at all.
    return {
      result: { deliveryId, status: 'failed', reason: 'invalid address: refused before sending', deactivate: true },
      serverLevel: false,
      code,
    };
  }
  const codes = [err.code, code].filter((c): c is string => Boolean(c));
  const serverLevel = codes.some((c) => CONNECTION_CODES.has(c) || AUTH_CODES.has(c) || c === OUTBOX_CODE);
  const reason = `${code ?? 'error'}: ${redact(err.message ?? String(err), address)}`;
  return { result: { deliveryId, status: 'retry', reason }, serverLevel, code };
}

/**
 * The error for a send() in which no recipient got through for a reason of the server's
 * (or the outbox's): the whole job should back off and retry, and a person should learn
 * what to check. `what` is "any of 3 messages" for a send, "a connection" for check().
 */
function unreachable(
  target: string,
  codeList: Array<string | undefined>,
  smtp: boolean,
  what: string,
  cause?: unknown,
) {
  const codes = [...new Set(codeList.map((c) => c ?? 'error'))].join(', ');
  let message: string;
  if (!smtp) {
    message = `cannot write ${what} to ${target} (${codes}): check that the directory exists or can be created and is writable (OUTBOX_DIR)`;
  } else if (codes.includes('EMAILFROM')) {
    message = `SMTP server ${target} refused the sender address: check MAIL_FROM and that the server may relay for its domain`;
  } else if (codes.includes('EAUTH') || codes.includes('ENOAUTH')) {
    message = `SMTP server ${target} refused the login (${codes}): check the user and password in SMTP_URL`;
  } else {
    message = `cannot make ${what} to SMTP server ${target} (${codes}): check that the server is running and reachable, and the host, port and smtp:// or smtps:// in SMTP_URL`;
  }
  return new ChannelError('mail', 'provider-down', message, { cause });
}

/**
 * Every message of a send was answered 421: the relay is closing the connection and wants
 * us back later (its throttle, a restart). The relay's state, not the recipients': the mail
 * queue pauses and probes it (workers/provider-outage.ts) without using an attempt, never
 * sooner than waitMs.
 */
function tryLater(target: string, what: string, waitMs: number) {
  const seconds = Math.ceil(waitMs / 1000);
  return new ChannelError(
    'mail',
    'provider-down',
    `SMTP サーバー ${target} が 421（後で再試行）と答えたため、メールの配信を ${seconds} 秒待って再開します。続く場合は中継サーバーの送信上限を確認してください / ` +
      `SMTP server ${target} answered 421 (try again later) to ${what}: mail waits ${seconds} s and resumes; if this lasts, check the relay's sending limits`,
    { retryAfterMs: waitMs },
  );
}

function codeOf(err: NodemailerError): string | undefined {
  const e = err as NodemailerError & { originalCode?: string };
  // nodemailer replaces a socket's ECONNREFUSED with its own ESOCKET/ECONNECTION; the
  // original tells a person more.
  return e.originalCode ?? e.code;
}

/** Addresses never leave this module in a reason: the recipient's, and any a server echoes. */
function redact(text: string, address: string): string {
  let out = text.replace(/\r?\n/g, ' ').trim();
  if (address) out = out.split(address).join('recipient');
  out = out.replace(/[^\s<>()"',;:]+@[^\s<>()"',;:]+/g, 'recipient');
  return out.length > 300 ? `${out.slice(0, 300)}…` : out;
}

function fromDomain(from: string): string | undefined {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from.trim());
  return match?.[1];
}

/** Makes a key safe as a Message-ID left-hand side and a file name, keeping it injective. */
function atext(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/gu, (c) =>
    [...Buffer.from(c, 'utf8')].map((b) => `=${b.toString(16).padStart(2, '0')}`).join(''),
  );
}
