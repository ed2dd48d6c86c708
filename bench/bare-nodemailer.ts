import nodemailer from 'nodemailer';
import { loadMailTemplates, personaliseMail, renderMail } from '../channels/mail/render-mail.ts';
import { makeNoticeView } from '../test/helpers/notice-view.ts';

/**
 * The baseline of the mail benchmark: a bare nodemailer pool sending the very mail Hibiki
 * renders for the benchmark's notice (same templates, same size, a personal unsubscribe
 * link each). Usage: bare-nodemailer.ts <smtp-url> <recipients> <connections>; prints the
 * seconds it took on its last line.
 */
const [url = '', recipients = 10_000, connections = 8] = process.argv
  .slice(2)
  .map((a, i) => (i === 0 ? a : Number(a))) as [string, number, number];

const mail = renderMail(
  makeNoticeView({ title: '避難所の開設について', body: '本日18時から市民体育館を避難所として開設します。' }),
  'ja',
  loadMailTemplates(),
);
const transport = nodemailer.createTransport({
  url,
  pool: true,
  maxConnections: connections,
  maxMessages: Number.POSITIVE_INFINITY,
});
const started = performance.now();
await Promise.all(
  Array.from({ length: recipients }, (_, i) => {
    const unsubscribe = `https://hibiki.example.jp/unsubscribe?c=${i}&t=0123456789abcdef0123456789abcdef`;
    const personal = personaliseMail(mail, unsubscribe);
    return transport.sendMail({
      from: '"菊池市 防災・お知らせ" <noreply@example.jp>',
      to: { name: '', address: `r${i}@example.jp` },
      subject: personal.subject,
      text: personal.text,
      html: personal.html,
      list: { unsubscribe: [[unsubscribe, 'unsubscribe@example.jp']] },
      // The headers Hibiki's mail channel sets, so both send the very same mails.
      messageId: `<bench-r1-mail-${Math.floor(i / 100)}.${i}@example.jp>`,
      headers: {
        'Auto-Submitted': 'auto-generated',
        'X-Hibiki-Notice': 'n01kzz8x5d3qv7m2r4t6w8y0ab; revision=1',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      },
    });
  }),
);
const cpu = process.cpuUsage();
console.error(`bare nodemailer used ${(cpu.user + cpu.system) / 1e6} s of CPU`);
console.log((performance.now() - started) / 1000);
transport.close();
