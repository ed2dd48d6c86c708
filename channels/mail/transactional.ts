import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import type { Logger } from 'pino';
import type { Locale } from '../../src/domain/notice.ts';
import type { DkimSigning } from './dkim.ts';
import { createMailTransport, type MailTransport, MailTransportSettingsError } from './transport.ts';

/**
 * Mails to one resident about their own subscription (confirm the address, a manage link
 * on request), apart from the notice channel: a handful an hour, each sent at once on
 * its own connection, through the same transport as the notices (./transport.ts); a
 * staff import's confirmations go in one batch over a pool.
 */

export type TransactionalKind = 'confirm' | 'manage-link';

export interface TransactionalMailOptions {
  from: string;
  /**
   * Where the mails go: the same SMTP relay or outbox as the notices (createMailTransport in
   * ./transport.ts, made by the caller from its settings), signed as the notices are.
   */
  transport: MailTransport;
  templatesDir?: string;
}

export interface TransactionalData {
  /** The link the mail is about (confirm, or manage). */
  url: string;
  cityName: string;
  cityNameEn: string;
  /** How long the link works. */
  validHours: number;
}

export type TransactionalSend = (
  kind: TransactionalKind,
  to: string,
  locale: Locale,
  data: TransactionalData,
) => Promise<string>;

export interface TransactionalMailer {
  /** Sends one mail; resolves with its Message-ID. Errors name the server, never the address. */
  send: TransactionalSend;
  /**
   * Many mails at once (a staff import's confirmations): `work` sends over a pool of
   * connections that is closed when it settles. A new connection per mail cost 105 ms
   * against a local relay, a pooled one 8 ms.
   */
  batch?<T>(work: (send: TransactionalSend) => Promise<T>): Promise<T>;
  close(): void;
}

/** Connections of a batch's pool. */
const BATCH_CONNECTIONS = 4;

export const DEFAULT_TRANSACTIONAL_TEMPLATES_DIR = fileURLToPath(new URL('../../templates/mail/', import.meta.url));

const SUBJECT: Record<TransactionalKind, Record<Locale, (d: TransactionalData) => string>> = {
  confirm: {
    ja: (d) => `${d.cityName} 防災・お知らせメール：登録の確認`,
    en: (d) => `${d.cityNameEn} alerts: please confirm your e-mail address`,
  },
  'manage-link': {
    ja: (d) => `${d.cityName} 防災・お知らせメール：登録内容の確認・変更用リンク`,
    en: (d) => `${d.cityNameEn} alerts: your link to manage your subscription`,
  },
};

export function createTransactionalMailer(
  options: TransactionalMailOptions,
  deps: { logger: Logger },
): TransactionalMailer {
  const dir = options.templatesDir ?? DEFAULT_TRANSACTIONAL_TEMPLATES_DIR;
  // Text must not be HTML-escaped; the HTML templates escape every interpolation.
  const text = new Eta({ views: dir, autoEscape: false, autoTrim: false, cache: true });
  const html = new Eta({ views: dir, autoEscape: true, cache: true });
  // Read every template now, so a missing or broken one stops start-up, not a resident's sign-up.
  for (const kind of Object.keys(SUBJECT) as TransactionalKind[]) {
    for (const locale of ['ja', 'en'] as const) {
      for (const [eta, ext] of [
        [text, 'txt'],
        [html, 'html'],
      ] as const) {
        const file = `${kind}.${locale}.${ext}.eta`;
        try {
          eta.render(file, sample);
        } catch (cause) {
          throw new Error(`mail template ${join(dir, file)} cannot be used: ${(cause as Error).message}`, { cause });
        }
      }
    }
  }

  const { transport } = options;
  const target = transport.smtp ? `SMTP server ${transport.target}` : transport.target;

  const sender =
    (via: MailTransport): TransactionalSend =>
    async (kind, to, locale, data) => {
      const message = {
        from: options.from,
        // An address object: nodemailer would split "a@x, b@y" into two recipients.
        to: { name: '', address: to },
        subject: SUBJECT[kind][locale](data),
        text: text.render(`${kind}.${locale}.txt.eta`, data),
        html: html.render(`${kind}.${locale}.html.eta`, data),
        headers: { 'Auto-Submitted': 'auto-generated' },
      };
      try {
        return await via.deliver(message, `${kind}-${Date.now()}-${randomBytes(6).toString('hex')}`);
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'error';
        deps.logger.warn({ kind, target, code }, 'transactional mail not sent');
        throw new Error(`cannot send the ${kind} mail through ${target} (${code}): check SMTP_URL or OUTBOX_DIR`, {
          cause: err,
        });
      }
    };
  const send = sender(transport);

  return {
    send,
    async batch(work) {
      // The outbox writes files: nothing to pool.
      if (!transport.smtp) return work(send);
      const pool = transport.pooled(BATCH_CONNECTIONS);
      try {
        return await work(sender(pool));
      } finally {
        pool.close();
      }
    },
    close() {
      transport.close();
    },
  };
}

const sample: TransactionalData = {
  url: 'https://example.jp/x',
  cityName: '市',
  cityNameEn: 'City',
  validHours: 24,
};

/**
 * The transport for the residents' mails from the notices' settings: a new connection per
 * mail (a handful an hour; a batch pools its own), and a shorter wait for answers than a
 * broadcast's, since a resident is waiting on the page.
 */
export function createTransactionalTransport(settings: {
  smtpUrl?: string | undefined;
  outboxDir?: string | undefined;
  dkim?: DkimSigning | undefined;
}): MailTransport {
  try {
    return createMailTransport({ ...settings, timeouts: { socketMs: 30_000 } });
  } catch (err) {
    if (!(err instanceof MailTransportSettingsError)) throw err;
    if (err.problem === 'nowhere')
      throw new Error('neither SMTP_URL nor OUTBOX_DIR is set: sign-up mails cannot be sent');
    // The URL may hold a password: never echo it.
    if (err.problem === 'invalid-url')
      throw new Error('SMTP_URL is not a valid URL (expected smtp://host:port or smtps://…)');
    throw new Error(`SMTP_URL: ${err.message}`);
  }
}
