import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleBackLink } from '../../src/web/console/back-link.ts';
import { type ConsoleClient, consoleClient } from '../helpers/console.ts';
import { type HttpApp, startHttpApp } from '../helpers/http-app.ts';
import { overHttp } from '../helpers/send-from.ts';

/**
 * The console's error page links back to the page the staff member came from, only when
 * the Referer's origin is exactly ours: a host that merely starts with our origin
 * (`http://127.0.0.1:PORT.evil.example/`) is someone else's site.
 */
describe('the console error page’s back link', () => {
  let hibiki: HttpApp;
  let author: ConsoleClient;

  beforeAll(async () => {
    hibiki = await startHttpApp({ workers: false });
    // The console client over real HTTP: its origin is the server's own (PUBLIC_BASE_URL).
    author = consoleClient(overHttp, hibiki.base);
    const { token } = await hibiki.deps.store.tokens.create('広報課 作成者', 'author');
    await author.get('/console/login');
    expect((await author.post('/console/login', { token })).status).toBe(303);
  });
  afterAll(async () => {
    await hibiki?.close();
  });

  /** A console page that refuses (a notice that does not exist, in the form of an id), visited from `referer`. */
  async function errorPageFrom(referer: string): Promise<string> {
    const res = await fetch(`${hibiki.base}/console/notices/n00000000000000000000`, {
      headers: { cookie: author.jar.header(), referer },
    });
    expect(res.status).toBe(404);
    return res.text();
  }

  it('does not link to a host that only starts with our origin', async () => {
    const evil = `${hibiki.base}.evil.example/`;
    expect(evil).toMatch(/^http:\/\/127\.0\.0\.1:\d+\.evil\.example\/$/);
    const page = await errorPageFrom(evil);
    expect(page).toContain('前の画面へ戻る');
    expect(page).not.toContain('evil.example');
    expect(page).toContain('href="/console/notices"');
  });

  it('links back to a console page of ours, as a path', async () => {
    const page = await errorPageFrom(`${hibiki.base}/console/notices?status=sent`);
    expect(page).toMatch(/href="\/console\/notices\?status=sent"/);
  });

  it('refuses other look-alikes: a user part, another port or scheme, a resident page, garbage', () => {
    const origin = 'http://127.0.0.1:18601';
    for (const referer of [
      'http://127.0.0.1:18601.evil.example/console/notices',
      'http://127.0.0.1:18601@evil.example/console/notices',
      'http://127.0.0.1:186011/console/notices',
      'https://127.0.0.1:18601/console/notices',
      'http://127.0.0.1:18601/manage?t=secret',
      'http://127.0.0.1:18601/consolex',
      'not a url',
    ]) {
      expect(consoleBackLink(referer, origin), referer).toBe('/console/notices');
    }
    expect(consoleBackLink('http://127.0.0.1:18601/console/notices/n1', origin)).toBe('/console/notices/n1');
  });
});
