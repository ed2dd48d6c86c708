import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authenticate } from 'mailauth';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadDkim } from '../../channels/mail/dkim.ts';
import { createMailChannel } from '../../channels/mail/mail-channel.ts';
import { createTransactionalMailer, createTransactionalTransport } from '../../channels/mail/transactional.ts';
import type { Recipient } from '../../channels/types.ts';
import { createLogger } from '../../src/logger.ts';
import { type SinkMessage, type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { configErrorOf } from '../helpers/config-error.ts';
import { createTestDeps } from '../helpers/deps.ts';
import { makeNoticeView } from '../helpers/notice-view.ts';

/**
 * "Mail that receivers trust" (issue 12): DKIM signatures, checked by an independent
 * verifier (mailauth) against the public key as a receiver would find it in DNS, and
 * one-click unsubscribe claimed only for an https link.
 */

const DOMAIN = 'city.example.jp';
const SELECTOR = 'hibiki1';
const FROM = `"山鹿市 防災・お知らせ" <noreply@${DOMAIN}>`;
const HTTPS_UNSUB = 'https://hibiki.example.jp/unsubscribe?c=7&t=sig';
const HTTP_UNSUB = 'http://hibiki.example.jp/unsubscribe?c=8&t=sig';
const silent = pino({ level: 'silent' });

const dir = mkdtempSync(join(tmpdir(), 'hibiki-dkim-'));
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keyFile = join(dir, 'dkim.pem');
writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
/** The TXT record at <selector>._domainkey.<domain>, in DNS's 255-byte strings. */
const record = `v=DKIM1; k=rsa; p=${p}`.match(/.{1,255}/g) as string[];

/** The DNS a receiver would ask, offline: only the published key exists. */
async function resolver(name: string, rrtype: string) {
  if (rrtype === 'TXT' && name === `${SELECTOR}._domainkey.${DOMAIN}`) return [record];
  throw Object.assign(new Error(`ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
}

async function dkimOf(raw: Buffer) {
  const result = await authenticate(raw, {
    ip: '192.0.2.10',
    helo: 'mta.example.test',
    sender: `noreply@${DOMAIN}`,
    mta: 'mx.example.org',
    resolver,
    disableArc: true,
    disableBimi: true,
    disableDmarc: true,
  });
  return result.dkim.results[0];
}

/** The h= tag of the DKIM-Signature header, lower-cased field names. */
function signedFields(raw: Buffer): string[] {
  const head = raw.toString('utf8').split(/\r?\n\r?\n/)[0] ?? '';
  const header = /^DKIM-Signature:(.*(?:\r?\n[ \t].*)*)/im.exec(head)?.[1] ?? '';
  const h = /\bh=([^;]+)/.exec(header.replace(/\r?\n[ \t]+/g, ''))?.[1] ?? '';
  return h
    .split(':')
    .map((f) => f.trim().toLowerCase())
    .filter(Boolean);
}

const recipient = (deliveryId: number, unsubscribeUrl: string): Recipient => ({
  deliveryId,
  contactId: deliveryId,
  address: `r${deliveryId}@example.net`,
  locale: 'ja',
  unsubscribeUrl,
  manageUrl: `https://hibiki.example.jp/manage?t=${deliveryId}.abcdefghijklmnopqrstuvwxyz012345`,
});

describe('mail that receivers trust', () => {
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink();
  });
  beforeEach(() => sink.reset());
  afterAll(async () => {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function sendNotice(recipients: Recipient[], dkim = true): Promise<SinkMessage[]> {
    const channel = createMailChannel(
      {
        from: FROM,
        smtpUrl: sink.url,
        ...(dkim ? { dkim: loadDkim({ domain: DOMAIN, selector: SELECTOR, keyFile }) } : {}),
      },
      { logger: silent },
    );
    const notice = makeNoticeView();
    try {
      const results = await channel.send(channel.render(notice, 'ja'), recipients, {
        deliveryKey: 'd-dkim-r1-mail-0',
        attempt: 1,
        signal: new AbortController().signal,
        notice,
      });
      expect(results.map((r) => r.status)).toEqual(recipients.map(() => 'sent'));
      return await sink.waitFor(recipients.length);
    } finally {
      await channel.close?.();
    }
  }

  it('signs a notice mail with DKIM: mailauth verifies it against the published key (pass), h= covers both List-Unsubscribe fields', async () => {
    const [message] = await sendNotice([recipient(1, HTTPS_UNSUB)]);
    const raw = message?.raw as Buffer;
    const dkim = await dkimOf(raw);
    expect(dkim?.status.result).toBe('pass');
    expect(dkim?.signingDomain).toBe(DOMAIN);
    expect(dkim?.selector).toBe(SELECTOR);
    const fields = signedFields(raw);
    expect(fields).toEqual(expect.arrayContaining(['from', 'subject', 'list-unsubscribe', 'list-unsubscribe-post']));

    // The verifier can fail: one changed byte of the body is no longer a pass.
    const text = raw.toString('utf8');
    const at = text.indexOf('\r\n\r\n') + 10;
    const tampered = Buffer.from(`${text.slice(0, at)}X${text.slice(at + 1)}`);
    expect((await dkimOf(tampered))?.status.result).not.toBe('pass');
  });

  it('signs what goes to the outbox too (no SMTP_URL), so a relay that sends the .eml files sends it signed', async () => {
    const outbox = join(dir, 'outbox');
    const channel = createMailChannel(
      { from: FROM, outboxDir: outbox, dkim: loadDkim({ domain: DOMAIN, selector: SELECTOR, keyFile }) },
      { logger: silent },
    );
    const notice = makeNoticeView();
    await channel.send(channel.render(notice, 'ja'), [recipient(5, HTTPS_UNSUB)], {
      deliveryKey: 'd-dkim-r1-mail-1',
      attempt: 1,
      signal: new AbortController().signal,
      notice,
    });
    await channel.close?.();
    const [file] = readdirSync(outbox).filter((f) => f.endsWith('.eml'));
    expect((await dkimOf(readFileSync(join(outbox, file as string))))?.status.result).toBe('pass');
  });

  it('signs the residents’ own mails (confirmation, manage link) the same way', async () => {
    const mailer = createTransactionalMailer(
      {
        from: FROM,
        transport: createTransactionalTransport({
          smtpUrl: sink.url,
          dkim: loadDkim({ domain: DOMAIN, selector: SELECTOR, keyFile }),
        }),
      },
      { logger: silent },
    );
    try {
      await mailer.send('confirm', 'new@example.net', 'ja', {
        url: 'https://hibiki.example.jp/subscribe/confirm?t=x',
        cityName: '山鹿市',
        cityNameEn: 'Yamaga City',
        validHours: 24,
      });
    } finally {
      mailer.close();
    }
    const [message] = await sink.waitFor(1);
    expect((await dkimOf(message?.raw as Buffer))?.status.result).toBe('pass');
  });

  it('without the DKIM settings mail goes out unsigned (and mailauth says none)', async () => {
    const [message] = await sendNotice([recipient(2, HTTPS_UNSUB)], false);
    expect(message?.raw.toString('utf8')).not.toMatch(/^DKIM-Signature:/im);
    expect((await dkimOf(message?.raw as Buffer))?.status.result).toBe('none');
  });

  it('claims one-click unsubscribe (List-Unsubscribe-Post) only for an https link', async () => {
    const messages = await sendNotice([recipient(3, HTTPS_UNSUB), recipient(4, HTTP_UNSUB)]);
    // mailparser folds List-* headers into headers.get('list'); read the raw lines instead.
    const lines = (address: string, key: string) =>
      (messages.find((m) => m.envelope.rcptTo[0] === address)?.parsed.headerLines ?? [])
        .filter((h) => h.key === key)
        .map((h) => h.line.replace(/\r?\n(?=[ \t])/g, '').replace(/^[^:]*:\s*/, ''));
    expect(lines('r3@example.net', 'list-unsubscribe-post')).toEqual(['List-Unsubscribe=One-Click']);
    expect(lines('r3@example.net', 'list-unsubscribe')).toEqual([`<${HTTPS_UNSUB}>`]);
    // The http link is still offered (a person can open it), but not as one-click.
    expect(lines('r4@example.net', 'list-unsubscribe-post')).toEqual([]);
    expect(lines('r4@example.net', 'list-unsubscribe')).toEqual([`<${HTTP_UNSUB}>`]);
  });

  it('warns once at start-up when PUBLIC_BASE_URL is http, and not when it is https', async () => {
    for (const [url, expected] of [
      ['http://hibiki.example.jp', 1],
      ['https://hibiki.example.jp', 0],
    ] as const) {
      const lines: string[] = [];
      const deps = await createTestDeps({
        env: { PUBLIC_BASE_URL: url },
        overrides: { logger: createLogger('debug', { write: (line: string) => void lines.push(line) }) },
      });
      await deps.dispose();
      const warnings = lines
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.level === 40 && l.msg.includes('PUBLIC_BASE_URL'));
      expect(warnings, url).toHaveLength(expected);
      if (expected) expect(warnings[0]?.msg).toContain('RFC 8058 needs https');
    }
  });

  describe('settings', () => {
    it('names the missing DKIM setting when only some are set', () => {
      const message = configErrorOf({ MAIL_DKIM_DOMAIN: DOMAIN, MAIL_DKIM_SELECTOR: SELECTOR });
      expect(message).toMatch(/^MAIL_DKIM_KEY_FILE: .*needs MAIL_DKIM_KEY_FILE/m);
      expect(message).not.toMatch(/^MAIL_DKIM_(DOMAIN|SELECTOR):/m);
      const two = configErrorOf({ MAIL_DKIM_KEY_FILE: keyFile });
      expect(two).toMatch(/^MAIL_DKIM_DOMAIN: /m);
      expect(two).toMatch(/^MAIL_DKIM_SELECTOR: /m);
    });

    it('says clearly when the key file cannot be read or holds no private key, never showing its content', () => {
      const missing = join(dir, 'no-such.pem');
      expect(() => loadDkim({ domain: DOMAIN, selector: SELECTOR, keyFile: missing })).toThrow(
        new RegExp(`^MAIL_DKIM_KEY_FILE: .*${missing}.*ENOENT.*cannot read the DKIM private key`),
      );
      const notAKey = join(dir, 'not-a-key.pem');
      writeFileSync(notAKey, 'secret-looking-garbage-0123456789');
      let message = '';
      try {
        loadDkim({ domain: DOMAIN, selector: SELECTOR, keyFile: notAKey });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/MAIL_DKIM_KEY_FILE: .*is not a PEM private key/);
      expect(message).not.toContain('garbage');
    });
  });
});
