import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ParsedMail, simpleParser } from 'mailparser';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMailChannel, type MailOptions } from '../../channels/mail/mail-channel.ts';
import {
  loadMailTemplates,
  type RenderedMail,
  renderMail,
  UNSUBSCRIBE_URL_PLACEHOLDER,
} from '../../channels/mail/render-mail.ts';
import {
  type Channel,
  ChannelError,
  type Recipient,
  type RecipientResult,
  type SendContext,
} from '../../channels/types.ts';
import type { Mode, NoticeView, RevisionKind, Severity } from '../../src/domain/notice.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { makeNoticeView } from '../helpers/notice-view.ts';

const FROM = '"菊池市 防災・お知らせ" <noreply@city.example.jp>';
const MAILTO = 'unsubscribe@city.example.jp';
const PASSWORD = 's3cret-pass';

const logLines: string[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });

let sink: SmtpSink;
const channels: Channel<RenderedMail>[] = [];

function recipient(id: number, overrides: Partial<Recipient> = {}): Recipient {
  return {
    deliveryId: id,
    contactId: id,
    address: `resident${id}@example.jp`,
    locale: 'ja',
    unsubscribeUrl: `https://hibiki.example.jp/unsubscribe?c=${id}&t=token${id}`,
    ...overrides,
  };
}

function context(notice: NoticeView, overrides: Partial<SendContext> = {}): SendContext & { seen: RecipientResult[] } {
  const seen: RecipientResult[] = [];
  return {
    deliveryKey: `d-${notice.id}-r${notice.revision}-mail-0`,
    attempt: 1,
    signal: new AbortController().signal,
    notice,
    onResult: (r) => seen.push(r),
    seen,
    ...overrides,
  };
}

function mailChannel(options: Partial<MailOptions> = {}): Channel<RenderedMail> {
  const channel = createMailChannel(
    { from: FROM, smtpUrl: sink.url, unsubscribeMailto: MAILTO, connections: 4, ...options },
    { logger },
  );
  channels.push(channel);
  return channel;
}

/** Every value of a header as sent, unfolded. */
function headerValues(parsed: ParsedMail, key: string): string[] {
  return parsed.headerLines
    .filter((h) => h.key === key)
    .map((h) => h.line.replace(/\r?\n(?=[ \t])/g, '').replace(/^[^:]*:\s*/, ''));
}

/** A port nothing listens on: bound once by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

beforeAll(async () => {
  sink = await startSmtpSink();
});

beforeEach(() => {
  sink.reset();
});

afterEach(async () => {
  await Promise.all(channels.splice(0).map((c) => c.close?.()));
});

afterAll(async () => {
  await sink.close();
  // Whatever happened above, no address and no SMTP password reached the log.
  const log = logLines.join('');
  expect(logLines.length).toBeGreaterThan(0);
  expect(log).not.toMatch(/resident\d+@example\.jp/);
  expect(log).not.toContain(PASSWORD);
});

describe('renderMail', () => {
  const templates = loadMailTemplates();

  const cases: Array<[Mode, Severity, RevisionKind, string, string]> = [];
  for (const mode of ['actual', 'exercise', 'test'] as const) {
    for (const severity of ['info', 'emergency'] as const) {
      for (const kind of ['alert', 'update', 'cancel'] as const) {
        const ja =
          { actual: '', exercise: '【訓練】', test: '【訓練】' }[mode] +
          (severity === 'emergency' ? '【緊急】' : '') +
          { alert: '', update: '【訂正】', cancel: '【取消】' }[kind];
        const en =
          { actual: '', exercise: '[DRILL] ', test: '[TEST] ' }[mode] +
          (severity === 'emergency' ? '[EMERGENCY] ' : '') +
          { alert: '', update: '[CORRECTION] ', cancel: '[CANCELLED] ' }[kind];
        cases.push([mode, severity, kind, ja, en]);
      }
    }
  }

  it.each(cases)('subject prefix for mode %s, severity %s, kind %s', (mode, severity, kind, ja, en) => {
    const notice = makeNoticeView({ mode, severity, kind, title: '大雨に関する情報' });
    expect(renderMail(notice, 'ja', templates).subject).toBe(`${ja}大雨に関する情報`);
    expect(renderMail(notice, 'en', templates).subject).toBe(`${en}大雨に関する情報`);
  });

  it('warning and advisory add no prefix but are named in the body', () => {
    const warning = renderMail(makeNoticeView({ severity: 'warning' }), 'ja', templates);
    expect(warning.subject).toBe('避難所の開設について');
    expect(warning.text).toContain('重要度：警戒');
    expect(warning.html).toContain('重要度：警戒');
    const advisory = renderMail(makeNoticeView({ severity: 'advisory' }), 'en', templates);
    expect(advisory.text).toContain('Severity: Advisory');
  });

  it('renders the issued time in JST, the category, the areas and both links', () => {
    const notice = makeNoticeView({
      severity: 'emergency',
      category: '避難情報',
      areas: [
        { code: '432105', name: '菊池市', nameEn: 'Kikuchi' },
        { code: '432106', name: '泗水地区', nameEn: 'Shisui' },
      ],
      link: 'https://www.city.example.jp/bousai/?a=1&b=2',
    });
    const ja = renderMail(notice, 'ja', templates);
    expect(ja.text).toContain('発表日時：2026年11月26日 19時39分');
    expect(ja.text).toContain('分類：避難情報');
    expect(ja.text).toContain('対象地域：菊池市、泗水地区');
    expect(ja.text).toContain('重要度：緊急');
    expect(ja.text).toContain(notice.pageUrl);
    expect(ja.text).toContain('https://www.city.example.jp/bousai/?a=1&b=2');
    expect(ja.html).toContain(`href="${notice.pageUrl}"`);
    expect(ja.html).toContain('href="https://www.city.example.jp/bousai/?a=1&amp;b=2"');
    expect(ja.html).toContain('<html lang="ja">');
    expect(ja.html).toContain('重要度：緊急');

    const en = renderMail(notice, 'en', templates);
    expect(en.text).toContain('Issued: 2026-11-26 19:39 JST');
    expect(en.text).toContain('Category: Evacuation information');
    expect(en.text).toContain('Area: Kikuchi, Shisui');
    expect(en.text).toContain('Severity: Emergency');
    expect(en.html).toContain('<html lang="en">');
    expect(en.text).toContain('From: Kikuchi City');
  });

  it('names the city when the notice has no areas', () => {
    const notice = makeNoticeView({ areas: [] });
    expect(renderMail(notice, 'ja', templates).text).toContain('対象地域：菊池市');
    expect(renderMail(notice, 'en', templates).text).toContain('Area: Kikuchi City');
  });

  it('puts a drill or test line first, and says what a correction or cancellation does', () => {
    const earlier = [{ revision: 1, capIdentifier: 'urn:x:1', sentAt: new Date('2026-11-26T10:00:00Z') }];
    const drill = renderMail(makeNoticeView({ mode: 'exercise' }), 'ja', templates);
    expect(drill.text.split('\n')[0]).toMatch(/^【訓練】これは訓練/);
    expect(drill.html.indexOf('【訓練】これは訓練')).toBeLessThan(drill.html.indexOf('<h1'));
    const test = renderMail(makeNoticeView({ mode: 'test' }), 'en', templates);
    expect(test.text.split('\n')[0]).toMatch(/^\[TEST\] This is a test/);

    const update = renderMail(makeNoticeView({ kind: 'update', revision: 2, earlier }), 'ja', templates);
    expect(update.text).toContain('【訂正】この通知は、2026年11月26日 19時00分に配信した通知を訂正するものです。');
    const cancel = renderMail(makeNoticeView({ kind: 'cancel', revision: 2, earlier }), 'en', templates);
    expect(cancel.text).toContain('[CANCELLED] The notice sent on 2026-11-26 19:00 JST has been withdrawn.');
    const actual = renderMail(makeNoticeView(), 'ja', templates);
    expect(actual.text).not.toContain('訓練');
    expect(actual.text).not.toContain('【訂正】');
  });

  it('escapes HTML in the title and body but keeps the text part as written', () => {
    const notice = makeNoticeView({
      title: '<script>alert(1)</script> 水道 & 電気',
      body: '断水 & 停電のお知らせ\n<b>太字</b>にはなりません',
    });
    const mail = renderMail(notice, 'ja', templates);
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).not.toContain('<b>');
    expect(mail.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; 水道 &amp; 電気');
    expect(mail.html).toContain('断水 &amp; 停電のお知らせ<br>&lt;b&gt;太字&lt;/b&gt;にはなりません');
    expect(mail.text).toContain('<script>alert(1)</script> 水道 & 電気');
    expect(mail.text).toContain('断水 & 停電のお知らせ\n<b>太字</b>にはなりません');
  });

  it('leaves out a link that is not http(s)', () => {
    const mail = renderMail(makeNoticeView({ link: 'javascript:alert(1)' }), 'ja', templates);
    expect(mail.html).not.toContain('javascript:');
    expect(mail.text).not.toContain('javascript:');
  });

  it('holds the unsubscribe placeholder in both parts, once per batch', () => {
    const mail = renderMail(makeNoticeView(), 'ja', templates);
    expect(mail.text).toContain(UNSUBSCRIBE_URL_PLACEHOLDER);
    expect(mail.html).toContain(`href="${UNSUBSCRIBE_URL_PLACEHOLDER}"`);
  });
});

describe('mail channel over SMTP', () => {
  it('sends one message per recipient with headers for one-click unsubscribe', async () => {
    const channel = mailChannel();
    expect(channel.id).toBe('mail');
    expect(channel.audience).toBe('subscribers');
    expect(channel.maxBatch).toBe(100);
    const notice = makeNoticeView({ severity: 'emergency', mode: 'exercise', title: '避難指示（緊急）' });
    const to = [recipient(1), recipient(2), recipient(3)];
    const ctx = context(notice);
    const results = await channel.send(channel.render(notice, 'ja'), to, ctx);

    expect(results.map((r) => [r.deliveryId, r.status])).toEqual([
      [1, 'sent'],
      [2, 'sent'],
      [3, 'sent'],
    ]);
    expect(ctx.seen.map((r) => r.deliveryId).sort()).toEqual([1, 2, 3]);
    const messages = await sink.waitFor(3);
    expect(messages).toHaveLength(3);
    const byRecipient = new Map(messages.map((m) => [m.envelope.rcptTo[0], m]));

    for (const r of to) {
      const m = byRecipient.get(r.address);
      if (!m) throw new Error(`nothing for delivery ${r.deliveryId}`);
      expect(m.envelope.rcptTo).toEqual([r.address]);
      expect(m.envelope.mailFrom).toBe('noreply@city.example.jp');
      // Encoded on the wire, decoded back intact.
      expect(m.raw.toString()).not.toContain('避難指示');
      expect(m.parsed.subject).toBe('【訓練】【緊急】避難指示（緊急）');
      expect(m.parsed.text).toContain('【訓練】これは訓練');
      expect(m.parsed.html).toContain('<html lang="ja">');

      // Exactly one header, holding both URIs (a long header may be folded on the wire).
      expect(headerValues(m.parsed, 'list-unsubscribe')).toEqual([`<${r.unsubscribeUrl}>, <mailto:${MAILTO}>`]);
      // mailparser folds List-* headers into headers.get('list'); read the raw line instead.
      expect(headerValues(m.parsed, 'list-unsubscribe-post')).toEqual(['List-Unsubscribe=One-Click']);
      expect(m.parsed.headers.get('auto-submitted')).toBe('auto-generated');
      expect(m.parsed.headers.get('x-hibiki-notice')).toBe(`${notice.id}; revision=1`);
      const messageId = `<${ctx.deliveryKey}.${r.deliveryId}@city.example.jp>`;
      expect(m.parsed.messageId).toBe(messageId);
      expect(results.find((x) => x.deliveryId === r.deliveryId)).toEqual({
        deliveryId: r.deliveryId,
        status: 'sent',
        providerId: messageId,
      });

      // Each message carries its own recipient's link, and no other.
      expect(m.parsed.text).toContain(`配信の停止：${r.unsubscribeUrl}`);
      expect(m.parsed.html).toContain(`href="${r.unsubscribeUrl?.replace('&', '&amp;')}"`);
      expect(m.raw.toString()).not.toContain(UNSUBSCRIBE_URL_PLACEHOLDER);
      for (const other of to.filter((o) => o !== r)) {
        expect(m.parsed.text).not.toContain(other.unsubscribeUrl);
      }
    }
  });

  it('carries escaped HTML and intact text through SMTP', async () => {
    const channel = mailChannel();
    const notice = makeNoticeView({ title: '<script>alert(1)</script> & 断水', body: 'A & B <i>x</i>' });
    const results = await channel.send(channel.render(notice, 'ja'), [recipient(1)], context(notice));
    expect(results[0]?.status).toBe('sent');
    const [m] = await sink.waitFor(1);
    expect(m?.parsed.subject).toBe('<script>alert(1)</script> & 断水');
    expect(m?.parsed.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; 断水');
    expect(m?.parsed.html).not.toContain('<script>');
    expect(m?.parsed.html).toContain('A &amp; B &lt;i&gt;x&lt;/i&gt;');
    expect(m?.parsed.text).toContain('<script>alert(1)</script> & 断水');
    expect(m?.parsed.text).toContain('A & B <i>x</i>');
  });

  it('renders and sends English for an English recipient', async () => {
    const channel = mailChannel();
    const notice = makeNoticeView({ severity: 'emergency', kind: 'update', revision: 2 });
    const results = await channel.send(channel.render(notice, 'en'), [recipient(1, { locale: 'en' })], context(notice));
    expect(results[0]?.status).toBe('sent');
    const [m] = await sink.waitFor(1);
    expect(m?.parsed.subject).toBe('[EMERGENCY] [CORRECTION] 避難所の開設について');
    expect(m?.parsed.text).toContain('Severity: Emergency');
    expect(m?.parsed.text).toContain('Unsubscribe: https://hibiki.example.jp/unsubscribe?c=1&t=token1');
    expect(m?.parsed.html).toContain('<html lang="en">');
    expect(m?.parsed.text).not.toContain('重要度');
  });

  it('answers retry on 451 greylisting, then sends on the third attempt with the same Message-ID', async () => {
    const channel = mailChannel();
    const notice = makeNoticeView();
    const message = channel.render(notice, 'ja');
    sink.failNext(2, 451, '4.7.1 Greylisted, please try again later');

    const first = await channel.send(message, [recipient(7)], context(notice, { attempt: 1 }));
    expect(first).toEqual([
      { deliveryId: 7, status: 'retry', reason: expect.stringContaining('451 4.7.1 Greylisted') },
    ]);
    const second = await channel.send(message, [recipient(7)], context(notice, { attempt: 2 }));
    expect(second[0]?.status).toBe('retry');
    expect(sink.count).toBe(0);

    const ctx = context(notice, { attempt: 3 });
    const third = await channel.send(message, [recipient(7)], ctx);
    expect(third[0]?.status).toBe('sent');
    expect(ctx.seen).toEqual(third);
    const [m] = await sink.waitFor(1);
    expect(m?.parsed.messageId).toBe(`<${ctx.deliveryKey}.7@city.example.jp>`);
    expect(sink.stats.failedData).toBe(2);
  });

  it('fails a dead mailbox with deactivate while the rest of the batch is sent', async () => {
    const channel = mailChannel();
    const notice = makeNoticeView();
    sink.rejectRecipient(
      'resident2@example.jp',
      550,
      '5.1.1 <resident2@example.jp>: Recipient address rejected: User unknown',
    );
    sink.rejectRecipient('resident4@example.jp', 550, '5.7.1 Message rejected by policy');
    sink.rejectRecipient('resident5@example.jp', 553, 'Mailbox name not allowed');
    const to = [1, 2, 3, 4, 5].map((id) => recipient(id));
    const ctx = context(notice);
    const results = await channel.send(channel.render(notice, 'ja'), to, ctx);

    const byId = new Map(results.map((r) => [r.deliveryId, r]));
    expect(byId.get(1)?.status).toBe('sent');
    expect(byId.get(3)?.status).toBe('sent');
    const dead = byId.get(2);
    expect(dead).toMatchObject({ status: 'failed', deactivate: true });
    if (dead?.status !== 'failed') throw new Error('expected failed');
    expect(dead.reason).toContain('550 5.1.1');
    expect(dead.reason).toContain('User unknown');
    expect(dead.reason).not.toContain('@');
    // A policy refusal is final for this message, but the mailbox exists.
    expect(byId.get(4)).toMatchObject({ status: 'failed', deactivate: false });
    expect(byId.get(5)).toMatchObject({ status: 'failed', deactivate: true });
    expect(ctx.seen).toHaveLength(5);
    await sink.waitFor(2);
    expect(sink.envelopes.map((e) => e.rcptTo[0]).sort()).toEqual(['resident1@example.jp', 'resident3@example.jp']);
  });

  it('throws a provider-down ChannelError naming the host when the server cannot be reached', async () => {
    const port = await closedPort();
    const channel = mailChannel({ smtpUrl: `smtp://hibiki:${PASSWORD}@127.0.0.1:${port}` });
    const notice = makeNoticeView();
    const ctx = context(notice);
    const sent = channel.send(channel.render(notice, 'ja'), [recipient(1), recipient(2)], ctx);
    const err = await sent.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelError);
    expect(err).toMatchObject({ channel: 'mail', kind: 'provider-down' });
    const message = (err as Error).message;
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).toContain('ECONNREFUSED');
    expect(message).not.toContain(PASSWORD);
    // Progress was still reported per recipient, as retry.
    expect(ctx.seen.map((r) => r.status)).toEqual(['retry', 'retry']);

    const checked = await channel.check?.().catch((e: unknown) => e);
    expect(checked).toBeInstanceOf(ChannelError);
    expect((checked as Error).message).toContain(`127.0.0.1:${port}`);
    expect((checked as Error).message).not.toContain(PASSWORD);
  });

  it('refuses a From without an address at start-up', () => {
    expect(() => mailChannel({ from: '菊池市' })).toThrow(/MAIL_FROM/);
  });

  it('check() passes against a running server', async () => {
    await expect(mailChannel().check?.()).resolves.toBeUndefined();
  });

  it('starts nothing once the signal is aborted', async () => {
    const channel = mailChannel();
    const notice = makeNoticeView();
    const abort = new AbortController();
    abort.abort();
    const results = await channel.send(
      channel.render(notice, 'ja'),
      [recipient(1), recipient(2)],
      context(notice, { signal: abort.signal }),
    );
    expect(results.map((r) => r.status)).toEqual(['retry', 'retry']);
    expect(sink.count).toBe(0);
  });

  it('sends a batch larger than the pool, each message once', async () => {
    const channel = mailChannel({ connections: 3 });
    const notice = makeNoticeView();
    const to = Array.from({ length: 25 }, (_, i) => recipient(100 + i));
    const results = await channel.send(channel.render(notice, 'ja'), to, context(notice));
    expect(results.every((r) => r.status === 'sent')).toBe(true);
    await sink.waitFor(25);
    expect(new Set(sink.envelopes.map((e) => e.rcptTo[0])).size).toBe(25);
    expect(sink.stats.connections).toBeLessThanOrEqual(3);
  });
});

describe('mail channel with an outbox', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hibiki-outbox-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes one .eml per recipient into a directory it creates', async () => {
    const outboxDir = join(dir, 'nested', 'outbox');
    const channel = mailChannel({ smtpUrl: undefined, outboxDir });
    await channel.check?.();
    const notice = makeNoticeView({ kind: 'cancel', revision: 2 });
    const to = [recipient(1), recipient(2), recipient(3)];
    const ctx = context(notice);
    const results = await channel.send(channel.render(notice, 'ja'), to, ctx);
    expect(results.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);

    const files = (await readdir(outboxDir)).sort();
    expect(files).toEqual([1, 2, 3].map((id) => `${ctx.deliveryKey}.${id}.eml`));
    const parsed = await simpleParser(await readFile(join(outboxDir, files[1] ?? '')));
    expect(parsed.subject).toBe('【取消】避難所の開設について');
    expect(parsed.text).toContain('配信の停止：https://hibiki.example.jp/unsubscribe?c=2&t=token2');
    expect(parsed.headerLines.filter((h) => h.key === 'list-unsubscribe')).toHaveLength(1);

    // The same delivery again overwrites its own file instead of adding one.
    await channel.send(channel.render(notice, 'ja'), [recipient(2)], ctx);
    expect(await readdir(outboxDir)).toHaveLength(3);
  });

  it('throws a provider-down ChannelError naming the directory when the outbox cannot be written', async () => {
    const file = join(dir, 'not-a-directory');
    await writeFile(file, 'x');
    const outboxDir = join(file, 'outbox');
    const channel = mailChannel({ smtpUrl: undefined, outboxDir });
    const notice = makeNoticeView();
    const err = await channel
      .send(channel.render(notice, 'ja'), [recipient(1), recipient(2)], context(notice))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChannelError);
    expect(err).toMatchObject({ kind: 'provider-down' });
    expect((err as Error).message).toContain(outboxDir);
    expect((err as Error).message).toContain('ENOTDIR');
    await expect(channel.check?.()).rejects.toThrow(outboxDir);
  });
});
