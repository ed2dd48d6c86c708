import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StaffRole } from '../../src/store/schema.ts';
import { aNotice, createHarness, type ErrorJson, type Harness } from './harness.ts';

let h: Harness;
let revoked: string;

beforeAll(async () => {
  h = await createHarness('sqlite');
  const t = await h.deps.store.tokens.create('gone', 'admin');
  await h.deps.store.tokens.revoke(t.id);
  revoked = t.token;
});
afterAll(async () => {
  await h.dispose();
});

interface RouteCase {
  method: string;
  path: string;
  needs: StaffRole;
  json?: unknown;
}

/** Every staff route, the least role it needs, and a body that gets past validation. */
const ROUTES: RouteCase[] = [
  { method: 'POST', path: '/v1/notices', needs: 'author', json: aNotice() },
  { method: 'GET', path: '/v1/notices', needs: 'author' },
  { method: 'GET', path: '/v1/notices/nmissing', needs: 'author' },
  { method: 'GET', path: '/v1/notices/nmissing/deliveries', needs: 'author' },
  { method: 'POST', path: '/v1/notices/nmissing/revisions', needs: 'author', json: { title: '訂正' } },
  { method: 'POST', path: '/v1/notices/nmissing/cancel', needs: 'author', json: {} },
  { method: 'POST', path: '/v1/notices/nmissing/retry', needs: 'author' },
  { method: 'POST', path: '/v1/notices/nmissing/approve', needs: 'approver', json: {} },
  { method: 'POST', path: '/v1/notices/nmissing/return', needs: 'approver', json: { comment: '直してください' } },
  { method: 'POST', path: '/v1/notices/nmissing/resubmit', needs: 'author', json: { title: '再申請' } },
  { method: 'POST', path: '/v1/preview', needs: 'author', json: aNotice() },
  { method: 'POST', path: '/v1/subscribers', needs: 'author', json: [] },
  { method: 'GET', path: '/v1/tokens', needs: 'admin' },
  { method: 'POST', path: '/v1/tokens', needs: 'admin', json: { name: 'new', role: 'author' } },
  { method: 'DELETE', path: '/v1/tokens/99999', needs: 'admin' },
  { method: 'GET', path: '/v1/webhooks', needs: 'admin' },
  {
    method: 'POST',
    path: '/v1/webhooks',
    needs: 'admin',
    json: { name: 'CMS', url: 'https://cms.example.jp/hook', topics: [], areas: [], minSeverity: 'info' },
  },
  { method: 'GET', path: '/v1/webhooks/99999', needs: 'admin' },
  { method: 'PATCH', path: '/v1/webhooks/99999', needs: 'admin', json: { name: 'x' } },
  { method: 'DELETE', path: '/v1/webhooks/99999', needs: 'admin' },
  { method: 'POST', path: '/v1/webhooks/99999/rotate-secret', needs: 'admin' },
];

const RANK: Record<StaffRole, number> = { author: 1, approver: 2, admin: 3 };
const ROLES: StaffRole[] = ['author', 'approver', 'admin'];

const matrix = ROUTES.flatMap((r) => ROLES.map((role) => ({ ...r, role, allowed: RANK[role] >= RANK[r.needs] })));

describe('roles on every staff route', () => {
  it('has an entry for every staff route the API documents', async () => {
    const res = await h.request('GET', '/openapi.json', { as: null });
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    const missing: string[] = [];
    for (const [template, methods] of Object.entries(doc.paths)) {
      // /v1/public/… is for residents and apps, without a staff token.
      if (!template.startsWith('/v1/') || template.startsWith('/v1/public/')) continue;
      const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      for (const method of Object.keys(methods)) {
        const covered = ROUTES.some((r) => r.method === method.toUpperCase() && pattern.test(r.path));
        if (!covered) missing.push(`${method.toUpperCase()} ${template}`);
      }
    }
    expect(missing, 'add these routes to ROUTES with the role they need').toEqual([]);
  });

  it.each(ROUTES)('$method $path without a token is 401 with a Bearer challenge', async (r) => {
    const res = await h.request(r.method, r.path, { as: null, json: r.json });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="hibiki"');
    const body = (await res.json()) as ErrorJson;
    expect(body.error.code).toBe('unauthorized');
  });

  it.each(ROUTES)('$method $path with an unknown token is 401 invalid_token', async (r) => {
    const res = await h.request(r.method, r.path, { as: { token: 'hbk_not-a-real-token' }, json: r.json });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it.each(ROUTES)('$method $path with a revoked token is 401', async (r) => {
    const res = await h.request(r.method, r.path, { as: { token: revoked }, json: r.json });
    expect(res.status).toBe(401);
  });

  it.each(matrix)('$method $path as $role: allowed=$allowed', async (r) => {
    const res = await h.request(r.method, r.path, { as: r.role, json: r.json });
    if (r.allowed) {
      expect([401, 403]).not.toContain(res.status);
      expect(res.status).toBeLessThan(500);
    } else {
      expect(res.status).toBe(403);
      const body = (await res.json()) as ErrorJson;
      expect(body.error.code).toBe('forbidden');
      expect(body.error.message).toContain(`(${r.needs})`);
      expect(body.error.message_en).toContain(r.needs);
    }
  });

  it('a malformed Authorization header is 401, not 500', async () => {
    const res = await h.request('GET', '/v1/notices', { as: null, headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(res.status).toBe(401);
  });
});
