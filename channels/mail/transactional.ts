import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Locale } from '../../src/domain/notice.ts';
import type { DkimSigning } from './dkim.ts';

/**
 * Mails to one resident about their own subscription (confirm the address, a manage link
 * on request), apart from the notice channel: a handful an hour, each sent at once on
 * its own connection, through the same SMTP_URL or outbox as the notices; a staff
 * import's confirmations go in one batch over a pool.
 */

export type TransactionalKind = 'confirm' | 'manage-link';

export interface TransactionalMailOptions {
  from: string;
  /** smtp:// or smtps://, as for the mail channel. Unset: .eml files in outboxDir. */
  smtpUrl?: string | undefined;
  outboxDir?: string | undefined;
  templatesDir?: string;
  /** Signed as the notices are (loadDkim in ./dkim.ts). */
  dkim?: DkimSigning | undefined;
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

  const target = targetOf(options);
  const smtpTransport = (smtpUrl: string, pool: boolean): Transporter =>
    nodemailer.createTransport({
      url: smtpUrl,
      ...(pool ? { pool: true, maxConnections: BATCH_CONNECTIONS, maxMessages: Number.POSITIVE_INFINITY } : {}),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
      // Its logger would print addresses.
      logger: false,
      disableFileAccess: true,
      disableUrlAccess: true,
      ...(options.dkim ? { dkim: options.dkim } : {}),
    });
  const transport: Transporter = options.smtpUrl
    ? smtpTransport(options.smtpUrl, false)
    : nodemailer.createTransport({
        streamTransport: true,
        buffer: true,
        newline: 'windows',
        disableFileAccess: true,
        disableUrlAccess: true,
        ...(options.dkim ? { dkim: options.dkim } : {}),
      });

  const sender =
    (via: Transporter): TransactionalSend =>
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
        const info = await via.sendMail(message);
        if (!options.smtpUrl) await writeOutbox(options.outboxDir as string, kind, info.message as Buffer);
        return info.messageId as string;
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
      if (!options.smtpUrl) return work(send);
      const pool = smtpTransport(options.smtpUrl, true);
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

function targetOf(options: TransactionalMailOptions): string {
  if (!options.smtpUrl) {
    if (!options.outboxDir) throw new Error('neither SMTP_URL nor OUTBOX_DIR is set: sign-up mails cannot be sent');
    return `outbox ${options.outboxDir}`;
  }
  try {
    const url = new URL(options.smtpUrl);
    return `SMTP server ${url.hostname}:${url.port || (url.protocol === 'smtps:' ? 465 : 587)}`;
  } catch {
    // The URL may hold a password: never echo it.
    throw new Error('SMTP_URL is not a valid URL (expected smtp://host:port or smtps://…)');
  }
}

/** Written under a temporary name and renamed, so a reader never sees half a message. */
async function writeOutbox(dir: string, kind: TransactionalKind, raw: Buffer): Promise<void> {
  await mkdir(dir, { recursive: true });
  const stem = `${kind}-${Date.now()}-${randomBytes(6).toString('hex')}`;
  const tmp = join(dir, `${stem}.eml.tmp`);
  await writeFile(tmp, raw);
  await rename(tmp, join(dir, `${stem}.eml`));
}
