import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type ErrorJson, type Harness } from '../api/harness.ts';
import { commandLineSuite } from '../helpers/command-line.ts';
import { consoleClient, signedInConsole } from '../helpers/console.ts';

const DAY = 86_400_000;

/** A token may be given an end; after it the API, the console and its sessions refuse it and say why. */
describe.each(['sqlite', 'postgres'] as const)('staff tokens with an expiry (%s)', (store) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(store);
  });
  afterAll(async () => {
    await h.dispose();
  });

  it('answers an expired token with a 401 that says it expired, in both languages', async () => {
    const { token } = await h.deps.store.tokens.create('期限切れの人', 'author', {
      expiresAt: new Date(Date.now() - 1000),
    });
    const res = await h.request('GET', '/v1/notices', { as: { token } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const body = (await res.json()) as ErrorJson;
    expect(body.error.code).toBe('token_expired');
    expect(body.error.message).toContain('期限');
    expect(body.error.message_en).toMatch(/expired/i);

    const live = await h.deps.store.tokens.create('まだ有効な人', 'author', { expiresAt: new Date(Date.now() + DAY) });
    expect((await h.request('GET', '/v1/notices', { as: { token: live.token } })).status).toBe(200);
  });

  it('refuses an expired token at the console sign-in and ends its sessions when it expires', async () => {
    const { token } = await h.deps.store.tokens.create('console 期限切れ', 'author', {
      expiresAt: new Date(Date.now() - 1000),
    });
    const client = consoleClient(h.app);
    await client.get('/console/login');
    const res = await client.post('/console/login', { token });
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain('有効期限');
    expect(html).toMatch(/expired/i);

    const t0 = new Date('2026-12-01T00:00:00Z');
    const lifetime = { absoluteMs: 12 * 3_600_000, idleMs: 3_600_000 };
    const expiring = await h.deps.store.tokens.create('shift ends', 'approver', {
      expiresAt: new Date(t0.getTime() + 60_000),
      now: t0,
    });
    const s = await h.deps.store.staffSessions.create(expiring.id, lifetime, t0);
    const at = (ms: number) => new Date(t0.getTime() + ms);
    expect(await h.deps.store.staffSessions.find(s.secret, lifetime, { now: at(30_000) })).toBeDefined();
    expect(await h.deps.store.staffSessions.find(s.secret, lifetime, { now: at(61_000) })).toBeUndefined();
  });

  it('takes expiresAt in the admin API, shows it in the list, and refuses a time already past', async () => {
    const expiresAt = new Date(Date.now() + 90 * DAY).toISOString();
    const res = await h.request('POST', '/v1/tokens', {
      as: 'admin',
      json: { name: '委託業者 API', role: 'author', expiresAt },
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: number; expiresAt: string | null };
    expect(created.expiresAt).toBe(expiresAt);
    const list = (await (await h.request('GET', '/v1/tokens', { as: 'admin' })).json()) as {
      items: { id: number; expiresAt: string | null }[];
    };
    expect(list.items.find((t) => t.id === created.id)?.expiresAt).toBe(expiresAt);
    expect(list.items.find((t) => t.id !== created.id)?.expiresAt).toBeNull();

    const past = await h.request('POST', '/v1/tokens', {
      as: 'admin',
      json: { name: '過去', role: 'author', expiresAt: '2020-01-01T00:00:00Z' },
    });
    expect(past.status).toBe(400);
    expect(Object.keys(((await past.json()) as ErrorJson).error.fields ?? {})).toEqual(['expiresAt']);
  });
});

describe('a token expiry from the console', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness('sqlite');
  });
  afterAll(async () => {
    await h.dispose();
  });

  it('takes a date, shows it in the list, and names the field for a past one', async () => {
    const admin = await signedInConsole(h.app, h.deps.store.tokens, 'admin', 'console expiry admin');
    await admin.page('/console/tokens');
    const made = await admin.post('/console/tokens', { name: '年度末まで', role: 'author', expiresAt: '2030-03-31' });
    expect(made.status).toBe(200);
    expect((await h.deps.store.tokens.list()).find((t) => t.name === '年度末まで')?.expiresAt).toBe(
      '2030-03-31T00:00:00.000Z',
    );
    expect(await admin.page('/console/tokens')).toMatch(/期限 <time datetime="2030-03-31T09:00/);
    const past = await admin.post('/console/tokens', { name: '過去の期限', role: 'author', expiresAt: '2020-01-01' });
    expect(past.status).toBe(400);
    expect(await past.text()).toContain('id="token-expires-error"');
  });
});

describe('hibiki token create --expires-in / --expires', () => {
  const cli = commandLineSuite('hibiki-token-expiry');
  const { run } = cli;

  it('stores the expiry, lists it, and refuses a bad or past one naming the flag', async () => {
    const before = Date.now();
    const made = await run(['token', 'create', '--role', 'author', '--name', '期間限定', '--expires-in', '90d']);
    expect(made.code).toBe(0);
    expect(made.output).toMatch(/expires/i);
    const dated = await run(['token', 'create', '--role', 'author', '--name', '年度末まで', '--expires', '2030-03-31']);
    expect(dated.code).toBe(0);
    expect((await run(['token', 'create', '--role', 'author', '--name', 'forever'])).code).toBe(0);

    const listed = (await run(['token', 'list'])).output.trim().split('\n');
    expect(listed[0]).toMatch(/expires/i);
    const row = (name: string) => listed.find((l) => l.includes(name)) ?? '';
    const dates = row('期間限定').match(/\d{4}-\d{2}-\d{2}T[\d:.]+Z/g) ?? [];
    expect(dates.some((d) => Math.abs(Date.parse(d) - (before + 90 * DAY)) < 60_000)).toBe(true);
    expect(row('年度末まで')).toContain('2030-03-31T00:00:00.000Z');
    expect(row('forever')).toMatch(/never|-/);

    for (const [flag, value] of [
      ['--expires-in', '90x'],
      ['--expires-in', '0d'],
      ['--expires', 'next tuesday'],
      ['--expires', '2020-01-01'],
    ] as const) {
      const bad = await run(['token', 'create', '--role', 'author', '--name', `bad ${value}`, flag, value]);
      expect(bad.code, `${flag} ${value}`).toBe(2);
      expect(bad.output, `${flag} ${value}`).toContain(flag);
    }
  }, 120_000);
});
