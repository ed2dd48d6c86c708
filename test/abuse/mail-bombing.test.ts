import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { type SmtpSink, startSmtpSink } from '../fakes/smtp-sink.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';

/**
 * Sign-up mail over real SMTP: one mailbox is one count however its address is spelt, and
 * mail to one domain and to everyone has an hourly cap. Each request comes from a client of
 * its own (in-process, X-Forwarded-For names it), so the per-client limit is never what
 * stops it.
 */

interface Bomb {
  deps: TestDeps;
  sink: SmtpSink;
  app: ReturnType<typeof createApp>;
}

let clientNo = 0;

async function start(env: Record<string, string>): Promise<Bomb> {
  const sink = await startSmtpSink();
  const deps = await createTestDeps({ env: { CHANNELS: 'mail', SMTP_URL: sink.url, ...env } });
  return { deps, sink, app: createApp(deps) };
}

async function signUp(bomb: Bomb, email: string): Promise<number> {
  clientNo++;
  const res = await bomb.app.request('/v1/public/subscriptions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': `198.18.${clientNo >> 8}.${clientNo & 255}` },
    body: JSON.stringify({ email }),
  });
  return res.status;
}

/** Messages the sink took for recipients matching the pattern. */
const mailTo = (sink: SmtpSink, pattern: RegExp) =>
  sink.envelopes.filter((e) => e.rcptTo.some((to) => pattern.test(to))).length;

describe('address variants after the per-address limit', () => {
  let bomb: Bomb;
  beforeAll(async () => {
    bomb = await start({ SIGNUP_LIMIT_PER_ADDRESS: '3' });
  });
  afterAll(async () => {
    await bomb?.deps.dispose();
    await bomb?.sink.close();
  });

  it('+tags and case are the same mailbox: no more mail once it reached its limit', async () => {
    for (let i = 0; i < 3; i++) expect(await signUp(bomb, 'victim@example.jp')).toBe(202);
    const variants = ['victim+1@example.jp', 'victim+a2@example.jp', 'VICTIM+x@Example.JP', 'Victim@example.jp'];
    for (const v of variants) expect(await signUp(bomb, v), v).toBe(429);
    expect(mailTo(bomb.sink, /^victim/i)).toBe(3);
  });

  it('for Gmail, dots (and googlemail.com) are the same mailbox too', async () => {
    for (let i = 0; i < 3; i++) expect(await signUp(bomb, 'victim@gmail.com')).toBe(202);
    for (const v of ['v.ictim@gmail.com', 'vic.tim+3@googlemail.com', 'V.I.C.T.I.M@Gmail.com']) {
      expect(await signUp(bomb, v), v).toBe(429);
    }
    expect(mailTo(bomb.sink, /@(gmail|googlemail)\.com$/i)).toBe(3);
  });

  it('elsewhere a dot makes another mailbox: a carrier’s ta.ro@ is not taro@', async () => {
    for (let i = 0; i < 3; i++) expect(await signUp(bomb, 'taro@docomo.ne.jp')).toBe(202);
    expect(await signUp(bomb, 'taro@docomo.ne.jp')).toBe(429);
    expect(await signUp(bomb, 'ta.ro@docomo.ne.jp')).toBe(202);
    expect(mailTo(bomb.sink, /^ta\.ro@docomo\.ne\.jp$/)).toBe(1);
  });
});

describe('the caps on sign-up mail per domain and in all', () => {
  let bomb: Bomb;
  beforeAll(async () => {
    bomb = await start({ SIGNUP_LIMIT_PER_DOMAIN: '4', SIGNUP_LIMIT_GLOBAL: '7' });
  });
  afterAll(async () => {
    await bomb?.deps.dispose();
    await bomb?.sink.close();
  });

  it('stop mail to a domain after its cap, while other domains still get theirs, and all mail after the global cap', async () => {
    const toDomain: number[] = [];
    for (let i = 0; i < 6; i++) toDomain.push(await signUp(bomb, `resident${i}@target.example`));
    expect(toDomain).toEqual([202, 202, 202, 202, 429, 429]);
    expect(mailTo(bomb.sink, /@target\.example$/)).toBe(4);
    // Another domain: three more make the city's seven for the window, then nothing more goes out.
    const elsewhere: number[] = [];
    for (let i = 0; i < 4; i++) elsewhere.push(await signUp(bomb, `someone${i}@other.example`));
    expect(elsewhere).toEqual([202, 202, 202, 429]);
    expect(await signUp(bomb, 'late@third.example')).toBe(429);
    expect(bomb.sink.count).toBe(7);
  });
});
