import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Catalogue } from '../../src/domain/catalogue.ts';
import type { ResidentService } from '../../src/services/residents.ts';
import { formToken } from '../../src/web/resident-forms.tsx';
import { type RunningWorkers, startWorkers } from '../../workers/index.ts';
import { type SinkMessage, type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { postNotice, staffClient } from '../helpers/api.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { exampleCatalogue, linkIn, type ResidentApp, residentApp } from '../helpers/resident-app.ts';
import { waitForDeliveries } from '../helpers/seed.ts';

/**
 * Issue 12 finding 9: manage links never expired and survived an unsubscribe. A resident
 * who had left was signed back on by one click on an old mail's link (forwarded, or read
 * from a shared mailbox). The links here are the ones in real mails, captured by the SMTP sink.
 */

const BASE = 'https://hibiki.example.jp';
let deps: TestDeps;
let sink: SmtpSink;
let catalogue: Catalogue;
let app: ResidentApp['app'];
let residents: ResidentService;
let workers: RunningWorkers;
let client = 0;

beforeAll(async () => {
  sink = await startSmtpSink();
  deps = await createTestDeps({ env: { CHANNELS: 'mail', SMTP_URL: sink.url, SIGNUP_LIMIT_PER_CLIENT: '1000' } });
  catalogue = await exampleCatalogue(deps);
  ({ app, residents } = residentApp(deps, catalogue));
  workers = startWorkers(deps);
});
afterAll(async () => {
  await workers?.close();
  residents?.close();
  await deps?.dispose();
  await sink?.close();
});
beforeEach(() => sink.reset());

/** A form POST from a client of its own (no limit meets another test's). */
function post(path: string, fields: Record<string, string>) {
  client++;
  return app.request(path, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-forwarded-for': `198.18.7.${client % 250}`,
    },
    body: new URLSearchParams(fields).toString(),
  });
}

const path = (url: string) => url.replace(BASE, '');

/** A confirmed resident, and the notice mail that reached them. */
async function residentWithNoticeMail(email: string): Promise<SinkMessage> {
  await residents.requestSignup(residents.normalise({ email, topics: ['disaster'] }), '203.0.113.9');
  const [confirmation] = await sink.waitFor(1);
  expect(await residents.confirm(linkIn(confirmation?.parsed.text, 'confirm').token)).toBeDefined();
  sink.reset();
  const noticeId = await postNotice(await staffClient(deps), { channels: ['mail'], topics: ['disaster'] });
  const [mail] = await sink.waitFor(1, 15_000);
  await waitForDeliveries(deps, noticeId, 1);
  expect(mail?.envelope.rcptTo).toEqual([email]);
  sink.reset();
  return mail as SinkMessage;
}

/** The one-click unsubscribe URL from the mail's List-Unsubscribe header. */
function oneClickUrl(mail: SinkMessage): string {
  const line = mail.parsed.headerLines.find((h) => h.key === 'list-unsubscribe')?.line ?? '';
  const url = /<(https:\/\/[^>]+)>/.exec(line.replace(/\r?\n[ \t]+/g, ''))?.[1];
  if (!url) throw new Error(`no https List-Unsubscribe in ${line}`);
  return url;
}

const mailActive = async (email: string) =>
  (
    await deps.store.db.kysely
      .selectFrom('contacts')
      .select('active')
      .where('channel', '=', 'mail')
      .where('address', '=', email)
      .executeTakeFirst()
  )?.active;

describe('manage links after an unsubscribe', () => {
  it('an old mail’s manage link is refused after a one-click unsubscribe, and cannot turn mail back on', async () => {
    const email = 'left@example.jp';
    const mail = await residentWithNoticeMail(email);
    const manage = linkIn(mail.parsed.text, 'manage');
    expect((await app.request(manage.path)).status).toBe(200);

    // The mail client's one-click unsubscribe (RFC 8058), as Gmail sends it.
    const stop = await post(path(oneClickUrl(mail)), { 'List-Unsubscribe': 'One-Click' });
    expect(stop.status).toBe(200);
    expect(await mailActive(email)).toBe(0);

    // The same link from the old mail: refused, with a page saying to subscribe again.
    const old = await app.request(manage.path);
    expect(old.status).toBe(400);
    const html = await old.text();
    expect(html).toContain('もう一度登録してください');
    expect(html).toContain('subscribe again');
    expect(html).toContain('href="/subscribe"');
    expect(html).not.toContain('id="resume"');

    // The attack: the resume form posted with the old link (its form token is computable
    // from the link). Mail stays off and no confirmation goes anywhere.
    const resumed = await post(manage.path, { action: 'resume', form: formToken('resume', manage.token) });
    expect(resumed.status).toBe(400);
    expect(await mailActive(email)).toBe(0);
    // Nor may the old link change choices or delete the data.
    const saved = await post(manage.path, { action: 'save', form: formToken('save', manage.token), topics: 'events' });
    expect(saved.status).toBe(400);
    expect((await residents.manage(Number(manage.token.split('.')[0])))?.topics).toEqual(['disaster']);
    expect(sink.count).toBe(0);
  });

  it('a manage link mailed on request before the unsubscribe dies with it too', async () => {
    const email = 'asked@example.jp';
    const mail = await residentWithNoticeMail(email);
    await post('/manage/link', { email });
    const [linkMail] = await sink.waitFor(1);
    const mailed = linkIn(linkMail?.parsed.text, 'manage');
    expect((await app.request(mailed.path)).status).toBe(200);
    expect((await post(path(oneClickUrl(mail)), { 'List-Unsubscribe': 'One-Click' })).status).toBe(200);
    expect((await app.request(mailed.path)).status).toBe(400);
  });

  it('resuming from a fresh link takes a fresh confirmation from the mailbox; the next notice mail carries a new link', async () => {
    const email = 'back@example.jp';
    const mail = await residentWithNoticeMail(email);
    const oldManage = linkIn(mail.parsed.text, 'manage');
    await post(path(oneClickUrl(mail)), { 'List-Unsubscribe': 'One-Click' });

    await post('/manage/link', { email });
    const [linkMail] = await sink.waitFor(1);
    const fresh = linkIn(linkMail?.parsed.text, 'manage');
    sink.reset();
    const resumed = await post(fresh.path, { action: 'resume', form: formToken('resume', fresh.token) });
    expect(resumed.status).toBe(200);
    expect(await resumed.text()).toContain('確認のメールをお送りしました');
    // Pressing Resume alone turns nothing on.
    expect(await mailActive(email)).toBe(0);

    const [confirmation] = await sink.waitFor(1);
    expect(confirmation?.envelope.rcptTo).toEqual([email]);
    await residents.confirm(linkIn(confirmation?.parsed.text, 'confirm').token);
    expect(await mailActive(email)).toBe(1);
    sink.reset();

    // The next notice's mail has a working link, and the one from before the unsubscribe stays dead.
    const noticeId = await postNotice(await staffClient(deps), { channels: ['mail'], topics: ['disaster'] });
    const [next] = await sink.waitFor(1, 15_000);
    await waitForDeliveries(deps, noticeId, 1);
    const nextManage = linkIn(next?.parsed.text, 'manage');
    expect(nextManage.token).not.toBe(oldManage.token);
    expect((await app.request(nextManage.path)).status).toBe(200);
    expect((await app.request(oldManage.path)).status).toBe(400);
  });
});
