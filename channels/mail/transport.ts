import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer, { type NodemailerError, type SendMailOptions, type Transporter } from 'nodemailer';
import type { DkimSigning } from './dkim.ts';

/**
 * The one way Hibiki hands a mail over: to the SMTP relay of SMTP_URL, or, without one, as
 * an .eml file in the outbox. Notice mail (the mail channel) and the residents' own mails
 * (confirmations, manage links: ./transactional.ts) both go through it, so they sign,
 * time out and write files alike.
 */
export interface MailTransport {
  /** For errors and logs: host:port or `outbox <dir>`, never credentials. */
  readonly target: string;
  /** True for an SMTP relay, false for the outbox. */
  readonly smtp: boolean;
  /** Hands one mail over; resolves with its Message-ID. The outbox names the file `<fileStem>.eml`. */
  deliver(mail: SendMailOptions, fileStem: string): Promise<string>;
  /** Answers whether the relay can be reached, or the outbox written. */
  check(): Promise<void>;
  /**
   * The same relay over a pool of this many connections, for a run of mails (a staff
   * import's confirmations); the outbox has nothing to pool and gives itself.
   */
  pooled(connections: number): MailTransport;
  close(): void;
}

export interface MailTransportOptions {
  /** smtp:// (STARTTLS when offered) or smtps://, may carry user:pass. Unset: the outbox. */
  smtpUrl?: string | undefined;
  /** Used when smtpUrl is unset: every message becomes an .eml file here (created if missing). */
  outboxDir?: string | undefined;
  /** Connections of the SMTP pool; unset: a new connection per mail (a handful an hour). */
  pool?: number;
  /** How long the SMTP client waits, in ms, to connect, for the greeting and for any answer. */
  timeouts?: { connectionMs?: number; greetingMs?: number; socketMs?: number };
  /** Sign every message (loadDkim in ./dkim.ts reads the key); unset: unsigned. */
  dkim?: DkimSigning | undefined;
}

export type MailTransportProblem = 'invalid-url' | 'not-smtp' | 'nowhere';

/** The settings name no place to send to; the caller says so in its own words. */
export class MailTransportSettingsError extends Error {
  override name = 'MailTransportSettingsError';
  readonly problem: MailTransportProblem;
  constructor(problem: MailTransportProblem, message: string) {
    super(message);
    this.problem = problem;
  }
}

/** Our code for a failed outbox write; the file system's code stays in originalCode. */
export const OUTBOX_CODE = 'EOUTBOX';

export function createMailTransport(options: MailTransportOptions): MailTransport {
  if (options.smtpUrl) return smtpTransport(options.smtpUrl, options);
  if (!options.outboxDir)
    throw new MailTransportSettingsError('nowhere', 'neither an SMTP URL nor an outbox directory is set');
  return outboxTransport(options.outboxDir, options.dkim);
}

function smtpTransport(smtpUrl: string, options: MailTransportOptions): MailTransport {
  let url: URL;
  try {
    url = new URL(smtpUrl);
  } catch {
    // The URL may hold a password: say what is wrong, never echo it.
    throw new MailTransportSettingsError('invalid-url', 'the SMTP URL is not a valid URL');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new MailTransportSettingsError(
      'not-smtp',
      `the SMTP URL must start with smtp:// or smtps://, not ${url.protocol}//`,
    );
  }
  const secure = url.protocol === 'smtps:';
  const timeouts = options.timeouts ?? {};
  const transport: Transporter = nodemailer.createTransport({
    url: smtpUrl,
    ...(options.pool
      ? {
          pool: true,
          maxConnections: options.pool,
          // The default of 100 messages per connection reconnects mid-broadcast and costs 1.5×.
          maxMessages: Number.POSITIVE_INFINITY,
        }
      : {}),
    // nodemailer waits up to 2 min to connect by default; a worker should give up sooner
    // and let the queue's backoff retry.
    connectionTimeout: timeouts.connectionMs ?? 10_000,
    greetingTimeout: timeouts.greetingMs ?? 10_000,
    socketTimeout: timeouts.socketMs ?? 60_000,
    // Its logger would print addresses; we log outcomes ourselves.
    logger: false,
    disableFileAccess: true,
    disableUrlAccess: true,
    ...(options.dkim ? { dkim: options.dkim } : {}),
  });
  return {
    target: `${url.hostname}:${url.port || (secure ? 465 : 587)}`,
    smtp: true,
    async deliver(mail) {
      const info = await transport.sendMail(mail);
      return info.messageId;
    },
    async check() {
      await transport.verify();
    },
    pooled: (connections) => smtpTransport(smtpUrl, { ...options, pool: connections }),
    close() {
      transport.close();
    },
  };
}

function outboxTransport(outboxDir: string, dkim: DkimSigning | undefined): MailTransport {
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
    disableFileAccess: true,
    disableUrlAccess: true,
    ...(dkim ? { dkim } : {}),
  });
  let ready: Promise<unknown> | undefined;
  const ensureDir = () => {
    ready ??= mkdir(outboxDir, { recursive: true }).catch((err: unknown) => {
      ready = undefined;
      throw err;
    });
    return ready;
  };
  const outbox: MailTransport = {
    target: `outbox ${outboxDir}`,
    smtp: false,
    async deliver(mail, fileStem) {
      const info = await transport.sendMail(mail);
      const file = join(outboxDir, `${fileStem}.eml`);
      // Written under a temporary name and renamed, so a reader never sees half a message.
      const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await ensureDir();
        await writeFile(tmp, info.message as Buffer);
        await rename(tmp, file);
      } catch (cause) {
        const err = new Error(`cannot write to the outbox: ${(cause as Error).message}`, {
          cause,
        }) as NodemailerError & { originalCode?: string };
        err.code = OUTBOX_CODE;
        err.originalCode = (cause as NodeJS.ErrnoException).code;
        throw err;
      }
      return info.messageId;
    },
    async check() {
      await ensureDir();
      await access(outboxDir, constants.W_OK);
    },
    pooled: () => outbox,
    close() {},
  };
  return outbox;
}
