import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';

/**
 * Issue 12, finding 18: a site served over https tells browsers to come back over https
 * only (HSTS), so a network attacker on a resident's Wi-Fi cannot strip TLS from a later
 * visit. Over plain http the header would mean nothing and is not sent.
 */

const HSTS = 'max-age=31536000; includeSubDomains';
/** A page, a feed, the API's refusal, an unknown path, the console's redirect and a console page. */
const PATHS = ['/healthz', '/notices', '/notices.atom', '/v1/notices', '/no-such-page', '/console', '/console/login'];

describe('Strict-Transport-Security', () => {
  let https: TestDeps;
  let http: TestDeps;
  beforeAll(async () => {
    https = await createTestDeps({ env: { PUBLIC_BASE_URL: 'https://hibiki.example.jp' } });
    http = await createTestDeps({ env: { PUBLIC_BASE_URL: 'http://127.0.0.1:8080' } });
  });
  afterAll(async () => {
    await https?.dispose();
    await http?.dispose();
  });

  it('is on every answer when PUBLIC_BASE_URL is https', async () => {
    const app = createApp(https);
    for (const path of PATHS) {
      const res = await app.request(`https://hibiki.example.jp${path}`);
      expect(res.headers.get('strict-transport-security'), `${path} (${res.status})`).toBe(HSTS);
    }
  });

  it('follows ADMIN_BASE_URL on the admin listener: none when staff reach it over http', async () => {
    const admin = await createTestDeps({ env: { ADMIN_PORT: '8081', ADMIN_BASE_URL: 'http://10.1.2.3:8081' } });
    try {
      const adminApp = createApp(admin, { surface: 'admin' });
      const publicApp = createApp(admin, { surface: 'public' });
      expect(
        (await adminApp.request('http://10.1.2.3:8081/console/login')).headers.get('strict-transport-security'),
      ).toBeNull();
      expect(
        (await publicApp.request('https://hibiki.example.jp/notices')).headers.get('strict-transport-security'),
      ).toBe(HSTS);
    } finally {
      await admin.dispose();
    }
  });

  it('is on no answer when PUBLIC_BASE_URL is http', async () => {
    const app = createApp(http);
    for (const path of PATHS) {
      const res = await app.request(`http://127.0.0.1:8080${path}`);
      expect(res.headers.get('strict-transport-security'), `${path} (${res.status})`).toBeNull();
    }
  });
});
