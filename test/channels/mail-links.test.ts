import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailChannel } from '../../channels/mail/mail-channel.ts';
import {
  loadMailTemplates,
  MANAGE_URL_PLACEHOLDER,
  personaliseMail,
  renderMail,
  UNSUBSCRIBE_URL_PLACEHOLDER,
} from '../../channels/mail/render-mail.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { makeNoticeView } from '../helpers/notice-view.ts';

/** Every notice mail carries the resident's manage link beside the unsubscribe link. */

const templates = loadMailTemplates();
const MANAGE = 'https://hibiki.example.jp/manage?t=7.abcdefghijklmnopqrstuvwxyz012345&x=1';
const UNSUB = 'https://hibiki.example.jp/unsubscribe?c=7&t=sig';

describe('manage link in notice mails', () => {
  it('each locale renders the manage placeholder once per part, and personalising fills and escapes it', () => {
    for (const locale of ['ja', 'en'] as const) {
      const mail = renderMail(makeNoticeView(), locale, templates);
      expect(mail.text).toContain(MANAGE_URL_PLACEHOLDER);
      expect(mail.html).toContain(`href="${MANAGE_URL_PLACEHOLDER}"`);
      const personal = personaliseMail(mail, UNSUB, MANAGE);
      expect(personal.text).toContain(MANAGE);
      expect(personal.html).toContain(`href="${MANAGE.replace('&', '&amp;')}"`);
      for (const part of [personal.text, personal.html]) {
        expect(part).not.toContain(MANAGE_URL_PLACEHOLDER);
        expect(part).not.toContain(UNSUBSCRIBE_URL_PLACEHOLDER);
      }
    }
    const ja = personaliseMail(renderMail(makeNoticeView(), 'ja', templates), UNSUB, MANAGE);
    expect(ja.text).toContain(`登録内容の変更（分野・地域・言語）：${MANAGE}\n配信の停止：${UNSUB}`);
  });

  it('staff text holding the placeholder cannot smuggle a link in', () => {
    const mail = renderMail(makeNoticeView({ body: `本文 ${MANAGE_URL_PLACEHOLDER} 終わり` }), 'ja', templates);
    expect(personaliseMail(mail, UNSUB, MANAGE).text).toContain('本文  終わり');
  });

  describe('over SMTP', () => {
    let sink: SmtpSink;
    beforeAll(async () => {
      sink = await startSmtpSink();
    });
    afterAll(async () => {
      await sink.close();
    });

    it('sends each recipient its own manage link, or the page to ask for one when it has none', async () => {
      const channel = createMailChannel(
        { from: '"菊池市" <noreply@city.example.jp>', smtpUrl: sink.url },
        { logger: pino({ level: 'silent' }) },
      );
      const notice = makeNoticeView();
      const results = await channel.send(
        channel.render(notice, 'ja'),
        [
          {
            deliveryId: 1,
            contactId: 1,
            address: 'a@example.jp',
            locale: 'ja',
            unsubscribeUrl: UNSUB,
            manageUrl: MANAGE,
          },
          { deliveryId: 2, contactId: 2, address: 'b@example.jp', locale: 'ja', unsubscribeUrl: UNSUB },
        ],
        { deliveryKey: 'k', attempt: 1, signal: new AbortController().signal, notice },
      );
      expect(results.map((r) => r.status)).toEqual(['sent', 'sent']);
      const messages = await sink.waitFor(2);
      const text = (to: string) => messages.find((m) => m.envelope.rcptTo[0] === to)?.parsed.text ?? '';
      expect(text('a@example.jp')).toContain(`：${MANAGE}`);
      expect(text('b@example.jp')).toContain('：https://hibiki.example.jp/manage\n');
      await channel.close?.();
    });
  });
});
