import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type ErrorJson, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await createHarness('sqlite');
});
afterAll(async () => {
  await h.dispose();
});

describe('admin token API', () => {
  it('creates a token shown once, lists it without any secret, revokes it, and audits both', async () => {
    const res = await h.request('POST', '/v1/tokens', { as: 'admin', json: { name: '防災課 山田', role: 'approver' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const created = (await res.json()) as { id: number; name: string; role: string; token: string };
    expect(created).toMatchObject({ name: '防災課 山田', role: 'approver', token: expect.stringMatching(/^hbk_/) });

    // The new token works, with its role.
    const asNew = await h.request('POST', '/v1/notices', {
      as: { token: created.token },
      json: { title: '緊急', body: '避難してください', severity: 'emergency', category: '避難情報' },
    });
    expect(asNew.status).toBe(202);

    const list = await h.request('GET', '/v1/tokens', { as: 'admin' });
    const text = await list.text();
    expect(text).not.toContain(created.token);
    expect(text).not.toMatch(/hash/i);
    const items = (
      JSON.parse(text) as { items: { id: number; name: string; revokedAt: string | null; lastUsedAt: string | null }[] }
    ).items;
    expect(items.find((t) => t.id === created.id)).toMatchObject({
      name: '防災課 山田',
      revokedAt: null,
      lastUsedAt: expect.any(String),
    });

    const del = await h.request('DELETE', `/v1/tokens/${created.id}`, { as: 'admin' });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ id: created.id, revoked: true });
    expect((await h.request('GET', '/v1/notices', { as: { token: created.token } })).status).toBe(401);
    expect((await h.request('DELETE', `/v1/tokens/${created.id}`, { as: 'admin' })).status).toBe(404);

    const audit = (await h.deps.store.audit.list({ limit: 50 })).filter((e) => e.action.startsWith('token.'));
    expect(audit.map((e) => [e.action, e.actor, e.target]).reverse()).toEqual([
      ['token.create', 'staff-admin', String(created.id)],
      ['token.revoke', 'staff-admin', String(created.id)],
    ]);
    expect(JSON.stringify(audit)).not.toContain(created.token);
  });

  it('names a bad role and a missing name', async () => {
    const res = await h.request('POST', '/v1/tokens', { as: 'admin', json: { role: 'superuser' } });
    expect(res.status).toBe(400);
    expect(Object.keys(((await res.json()) as ErrorJson).error.fields ?? {}).sort()).toEqual(['name', 'role']);
    expect((await h.request('DELETE', '/v1/tokens/abc', { as: 'admin' })).status).toBe(400);
  });
});
