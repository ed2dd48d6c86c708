import type { Hono } from 'hono';
import { expect } from 'vitest';

import type { StaffRole } from '../../src/domain/staff.ts';
/** What a browser would hold: cookies by name, sent back on each request. */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (!pair || eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = /max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line);
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

export interface ConsoleClient {
  jar: CookieJar;
  /** The session's CSRF token, read from the last page's meta tag. */
  csrf: string | undefined;
  get(path: string): Promise<Response>;
  /** Posts a form; adds the session's CSRF token unless the fields name their own `_csrf`. */
  post(path: string, fields: Record<string, string | string[]>, headers?: Record<string, string>): Promise<Response>;
  /** GET and return the page's text (throws unless 200). */
  page(path: string): Promise<string>;
}

/** The value of `<meta name="csrf-token">` or the login form's hidden `_csrf` field. */
export function csrfOf(html: string): string | undefined {
  return /<meta name="csrf-token" content="([^"]+)"/.exec(html)?.[1] ?? /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
}

export function formBody(fields: Record<string, string | string[]>): URLSearchParams {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) {
    for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
  }
  return body;
}

/** A browser-like client of the console over the app in-process: cookies, CSRF from pages, no redirects followed. */
export function consoleClient(app: Pick<Hono, 'request'>, origin = 'https://hibiki.example.jp'): ConsoleClient {
  const jar = new CookieJar();
  const client: ConsoleClient = {
    jar,
    csrf: undefined,
    async get(path) {
      const res = await app.request(`${origin}${path}`, { headers: { cookie: jar.header() } });
      jar.take(res);
      if ((res.headers.get('content-type') ?? '').startsWith('text/html')) {
        const text = await res.clone().text();
        client.csrf = csrfOf(text) ?? client.csrf;
      }
      return res;
    },
    async post(path, fields, headers = {}) {
      const all = '_csrf' in fields || !client.csrf ? fields : { _csrf: client.csrf, ...fields };
      const res = await app.request(`${origin}${path}`, {
        method: 'POST',
        headers: {
          cookie: jar.header(),
          'content-type': 'application/x-www-form-urlencoded',
          origin,
          ...headers,
        },
        body: formBody(all),
      });
      jar.take(res);
      return res;
    },
    async page(path) {
      const res = await client.get(path);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text.slice(0, 500)}`);
      return text;
    },
  };
  return client;
}

/** Creates a staff token of the role and signs a new console client in with it. */
export async function signedInConsole(
  app: Pick<Hono, 'request'>,
  tokens: { create(name: string, role: StaffRole): Promise<{ id: number; token: string }> },
  role: StaffRole,
  name = `console-${role}`,
): Promise<ConsoleClient & { tokenId: number; token: string }> {
  const { id, token } = await tokens.create(name, role);
  const client = consoleClient(app);
  await client.get('/console/login');
  const res = await client.post('/console/login', { token });
  if (res.status !== 303) throw new Error(`sign-in answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
  // Read the session's own CSRF token from a signed-in page.
  await client.get('/console/notices');
  return Object.assign(client, { tokenId: id, token });
}

/**
 * Posts a console form as a forged request would (without the CSRF token, with a wrong one,
 * from another origin) and expects the console's 403 page each time.
 */
export async function expectCsrfRefused(
  client: ConsoleClient,
  path: string,
  fields: Record<string, string | string[]> = {},
): Promise<void> {
  const forgeries: [string, () => Promise<Response>][] = [
    ['no CSRF token', () => client.post(path, { ...fields, _csrf: '' })],
    ['a wrong CSRF token', () => client.post(path, { ...fields, _csrf: 'not-the-session-token' })],
    ['another origin', () => client.post(path, fields, { origin: 'https://evil.example' })],
  ];
  for (const [how, post] of forgeries) {
    const res = await post();
    expect(res.status, `${path} with ${how}`).toBe(403);
    expect(await res.text(), `${path} with ${how}`).toContain('操作を確認できませんでした');
  }
}
