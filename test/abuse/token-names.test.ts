import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type ErrorJson, type Harness } from '../api/harness.ts';
import { commandLineSuite } from '../helpers/command-line.ts';
import { signedInConsole } from '../helpers/console.ts';

/**
 * Finding 15: approvals and the audit log name people by their token's name, so a name must
 * print as what it is (no line breaks, no bidi overrides, nothing invisible) and must not be
 * another live token's name, at every door that makes tokens: the admin API and the CLI.
 */

const FORGED = [
  ['a line break', '防災課 山田\n2  admin     active   2026-01-01  -  市長'],
  ['a carriage return', 'yamada\rmayor'],
  ['a tab', 'yamada\tadmin'],
  ['a right-to-left override', 'yamada\u202etxt.exe'],
  ['a left-to-right isolate', 'yamada\u2066x\u2069'],
  ['a zero-width space', 'yama\u200bda'],
  ['a line separator', 'yamada\u2028mayor'],
  ['an escape sequence', 'yamada\u001b[2J'],
  ['a byte-order mark', 'yama\ufeffda'],
] as const;

describe.each(['sqlite', 'postgres'] as const)('token names through the admin API (%s)', (store) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(store);
  });
  afterAll(async () => {
    await h.dispose();
  });

  for (const [what, name] of FORGED) {
    it(`refuses a name with ${what}, naming the field`, async () => {
      const res = await h.request('POST', '/v1/tokens', { as: 'admin', json: { name, role: 'author' } });
      expect(res.status).toBe(400);
      const body = (await res.json()) as ErrorJson;
      expect(Object.keys(body.error.fields ?? {})).toEqual(['name']);
      expect(body.error.fields_en?.name?.[0]).toMatch(/control|invisible|direction/i);
      expect(body.error.fields?.name?.[0]).toMatch(/制御文字|見えない文字/);
    });
  }

  it('refuses a second live token of the same name, whatever its case, width or spacing', async () => {
    const first = await h.request('POST', '/v1/tokens', {
      as: 'admin',
      json: { name: '防災課 Yamada', role: 'author' },
    });
    expect(first.status).toBe(201);
    const { id } = (await first.json()) as { id: number };
    for (const twin of ['防災課 Yamada', '防災課 yamada', '防災課\u3000ＹＡＭＡＤＡ', '防災課  YAMADA']) {
      const res = await h.request('POST', '/v1/tokens', { as: 'admin', json: { name: twin, role: 'approver' } });
      expect(res.status, twin).toBe(409);
      const body = (await res.json()) as ErrorJson;
      expect(Object.keys(body.error.fields ?? {})).toEqual(['name']);
      expect(body.error.fields_en?.name?.[0]).toContain(`#${id}`);
    }
    // Also against the seeded role tokens, made outside the service.
    const seeded = await h.request('POST', '/v1/tokens', {
      as: 'admin',
      json: { name: 'STAFF-AUTHOR', role: 'author' },
    });
    expect(seeded.status).toBe(409);
    // Once revoked, the name is free for the person's new token.
    expect((await h.request('DELETE', `/v1/tokens/${id}`, { as: 'admin' })).status).toBe(200);
    const again = await h.request('POST', '/v1/tokens', {
      as: 'admin',
      json: { name: '防災課 yamada', role: 'author' },
    });
    expect(again.status).toBe(201);
  });
});

describe('token names through the console', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness('sqlite');
  });
  afterAll(async () => {
    await h.dispose();
  });

  it('refuses a forged name with a line break and a duplicate, with the error at the name field', async () => {
    const admin = await signedInConsole(h.app, h.deps.store.tokens, 'admin', '情報政策課 管理者');
    await admin.page('/console/tokens');
    const forged = await admin.post('/console/tokens', { name: 'yamada\n3  admin  active', role: 'admin' });
    expect(forged.status).toBe(400);
    expect(await forged.text()).toMatch(/id="token-name-error"[^>]*>[\s\S]*制御文字/);
    const twin = await admin.post('/console/tokens', { name: '情報政策課　管理者', role: 'author' });
    expect(twin.status).toBe(409);
    expect(await twin.text()).toContain('#1');
    expect((await h.deps.store.tokens.list()).map((t) => t.name)).not.toContain('情報政策課　管理者');
  });
});

describe('token names through hibiki token create', () => {
  const cli = commandLineSuite('hibiki-token-names');
  const { run } = cli;

  it('refuses a name with a line break or a bidi override, and a duplicate name, saying which flag', async () => {
    const newline = await run(['token', 'create', '--role', 'admin', '--name', 'yamada\n2  admin  active']);
    expect(newline.code).toBe(2);
    expect(newline.output).toMatch(/--name/);
    expect(newline.output).not.toMatch(/hbk_/);
    const bidi = await run(['token', 'create', '--role', 'admin', '--name', 'yamada\u202eexe']);
    expect(bidi.code).toBe(2);
    expect(bidi.output).toMatch(/--name/);

    expect((await run(['token', 'create', '--role', 'approver', '--name', '防災課 山田'])).code).toBe(0);
    const twin = await run(['token', 'create', '--role', 'admin', '--name', '防災課　山田']);
    expect(twin.code).toBe(2);
    expect(twin.output).toMatch(/--name.*#1/s);
    const listed = await run(['token', 'list']);
    // The heading and one row: no name could have added one.
    expect(listed.output.trim().split('\n')).toHaveLength(2);
  }, 90_000);
});
