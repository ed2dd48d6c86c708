import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { browserSuite, HAS_CHROMIUM, launchChromium } from '../helpers/chromium.ts';
import { artifactsDir, DESKTOP, screenshotAt, watchProblems } from '../helpers/console-browser.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { type HttpApp, startHttpApp } from '../helpers/http-app.ts';

/**
 * Issue 12, finding 7: /docs ran swagger-ui fetched from a CDN (unpinned, no SRI, no CSP)
 * on the console's origin, so whoever controlled that CDN could act as any member of staff
 * who opened the page. Now every script and style comes from the pinned swagger-ui-dist
 * package on our own origin, under a CSP that allows nothing else; API_DOCS=off removes it.
 */

const DIST = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** Every URL an HTML attribute (src, href, action…) or a CSS url() names. */
const referencedUrls = (html: string): string[] => [
  ...[...html.matchAll(/\b(?:src|href|action|data|poster|srcset)\s*=\s*["']?([^"'\s>]+)/gi)].map((m) => m[1] ?? ''),
  ...[...html.matchAll(/url\(\s*["']?([^"')]+)/gi)].map((m) => m[1] ?? ''),
];

describe('API docs served from the pinned package', () => {
  let deps: TestDeps;
  let app: ReturnType<typeof createApp>;
  beforeAll(async () => {
    deps = await createTestDeps();
    app = createApp(deps);
  });
  afterAll(async () => {
    await deps?.dispose();
  });

  it('/docs names no other origin, runs no inline script, and carries a strict CSP', async () => {
    const res = await app.request('/docs');
    expect(res.status).toBe(200);
    const html = await res.text();
    for (const url of referencedUrls(html)) expect(url, 'a same-origin path').toMatch(/^\/(?!\/)/);
    expect(html).not.toMatch(/\/\/[a-z0-9.-]+\.[a-z]{2,}/i);
    // Every <script> has a src and no body.
    for (const [, attrs, body] of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
      expect(attrs).toMatch(/\bsrc="\/docs\/assets\//);
      expect(body?.trim()).toBe('');
    }
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('serves the package’s own files, byte for byte, and only those', async () => {
    for (const [file, type] of [
      ['swagger-ui-bundle.js', 'text/javascript'],
      ['swagger-ui.css', 'text/css'],
    ] as const) {
      const res = await app.request(`/docs/assets/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(DIST, file))), file).toBe(true);
    }
    const init = await app.request('/docs/assets/docs.js');
    expect(init.status).toBe(200);
    expect(init.headers.get('content-type')).toContain('text/javascript');
    for (const path of ['/docs/assets/package.json', '/docs/assets/..%2fpackage.json', '/docs/assets/index.html']) {
      expect((await app.request(path)).status, path).toBe(404);
    }
  });
});

describe('API_DOCS=off', () => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = await createTestDeps({ env: { API_DOCS: 'off' } });
  });
  afterAll(async () => {
    await deps?.dispose();
  });

  it('answers 404 for the docs page and its files; /openapi.json stays for API clients', async () => {
    const app = createApp(deps);
    expect((await app.request('/docs')).status).toBe(404);
    expect((await app.request('/docs/assets/swagger-ui-bundle.js')).status).toBe(404);
    expect((await app.request('/openapi.json')).status).toBe(200);
  });
});

describe.skipIf(!HAS_CHROMIUM)(browserSuite('API docs in Chromium'), () => {
  let http: HttpApp;
  let browser: Browser;
  beforeAll(async () => {
    http = await startHttpApp({ workers: false });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await http?.close();
  });

  it('renders the API from our origin alone, with no CSP violation', async () => {
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'ja-JP' });
    const page = await context.newPage();
    const { problems } = watchProblems(page);
    const violations: string[] = [];
    await page.exposeFunction('__reportViolation', (v: string) => violations.push(v));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        (window as unknown as { __reportViolation(v: string): void }).__reportViolation(
          `${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`,
        ),
      );
    });
    const elsewhere: string[] = [];
    page.on('request', (req) => {
      if (new URL(req.url()).origin !== http.base) elsewhere.push(req.url());
    });
    await page.goto(`${http.base}/docs`);
    await page.locator('.swagger-ui .info .title').filter({ hasText: 'Hibiki API' }).waitFor();
    await page.locator('.opblock-summary-path', { hasText: '/v1/notices' }).first().waitFor();
    const dir = artifactsDir('api-docs');
    await page.screenshot({ path: join(dir, 'docs-1280-top.png') });
    // Open one operation, as a reader would.
    await page.locator('.opblock-summary', { hasText: 'POST' }).first().click();
    await page.locator('.opblock-body').first().waitFor();
    await screenshotAt(page, dir, 'docs', [DESKTOP]);
    expect(violations).toEqual([]);
    expect(elsewhere).toEqual([]);
    expect(problems.filter((p) => p !== '404 /favicon.ico')).toEqual([]);
    await context.close();
  }, 60_000);
});
