import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OidcIdp, startOidcIdp } from '../fakes/oidc-idp.ts';
import { browserSuite, HAS_CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { artifactsDir, screenshotAt } from '../helpers/console-browser.ts';
import { type HttpApp, startHttpApp } from '../helpers/http-app.ts';

const CLIENT_ID = 'hibiki-console-browser';
const CLIENT_SECRET = 'oidc-client-secret-for-the-browser-test-0123456789';

/**
 * 自治体のアカウントでサインイン in a real browser. The provider is on http://localhost and
 * Hibiki on http://127.0.0.1, two sites, so the return from the provider is a cross-site
 * navigation as it is in a city's network: the pending sign-in's Lax cookie must come back
 * with it, and the Strict session cookie must be there on the page after.
 */
describe.skipIf(!HAS_CHROMIUM)(browserSuite('city-account sign-in in headless Chromium'), () => {
  let idp: OidcIdp;
  let hibiki: HttpApp;
  let browser: Browser;
  const shots = artifactsDir('console-oidc');

  beforeAll(async () => {
    idp = await startOidcIdp({ host: 'localhost' });
    idp.accounts.set('yamada', {
      sub: 'idp-0001',
      name: '山田 太郎',
      email: 'yamada@city.yamaga.example',
      roles: ['approver'],
    });
    idp.accounts.set('suzuki', { sub: 'idp-0003', name: '鈴木 一郎', email: 'suzuki@city.yamaga.example' });
    hibiki = await startHttpApp({
      workers: false,
      env: { OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET },
    });
    idp.register({
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      redirectUri: `${hibiki.base}/console/oidc/callback`,
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await hibiki?.close();
    await idp?.close();
  });

  async function throughProvider(login: string, path: string) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${hibiki.base}${path}`);
    await page.waitForURL((url) => url.pathname === '/console/login');
    await page.getByRole('link', { name: /自治体のアカウントでサインイン/ }).click();
    await page.waitForURL((url) => url.origin === idp.issuer);
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    return { context, page };
  }

  it('goes from a console page to the provider and back to that page, signed in as the person', async () => {
    const context = await browser.newContext();
    const login = await context.newPage();
    await login.goto(`${hibiki.base}/console/login`);
    await screenshotAt(login, shots, 'login-with-city-account');
    await context.close();

    const { context: signedIn, page } = await throughProvider('yamada', '/console/approvals');
    // Lands on the page asked for, not back on sign-in (which a Strict cookie dropped on the way would give).
    await page.waitForURL((url) => url.origin === hibiki.base && url.pathname === '/console/approvals', {
      timeout: 10_000,
    });
    const header = (await page.locator('header.console .who').textContent()) ?? '';
    expect(header).toContain('山田 太郎 (yamada@city.yamaga.example)');
    expect(header).toContain('承認者(approver)');
    const cookies = await signedIn.cookies(hibiki.base);
    expect(cookies.find((c) => c.name === 'hibiki_console')?.sameSite).toBe('Strict');
    expect(cookies.some((c) => c.name === 'hibiki_oidc')).toBe(false);
    await screenshotAt(page, shots, 'signed-in-approvals');
    await signedIn.close();
  });

  it('shows a person without a role the page that says to ask the administrator', async () => {
    const { context, page } = await throughProvider('suzuki', '/console/notices');
    await page.waitForURL((url) => url.origin === hibiki.base && url.pathname === '/console/oidc/callback');
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toContain('管理者に役割の割り当てを依頼してください');
    expect(text).toContain('Ask the administrator');
    await screenshotAt(page, shots, 'no-role');
    expect((await context.cookies(hibiki.base)).some((c) => c.name === 'hibiki_console')).toBe(false);
    await context.close();
  });
});
