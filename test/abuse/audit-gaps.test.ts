import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { main } from '../../src/main.ts';
import { createAuditRepo } from '../../src/store/audit.ts';
import { type ConsoleClient, consoleClient } from '../helpers/console.ts';
import { createTestDb, type TestDb } from '../helpers/db.ts';
import { type HttpApp, startHttpApp } from '../helpers/http-app.ts';

/**
 * Issue 12, finding 14: who did what from where. Sign-in failures and lockouts, and tokens
 * made or revoked from the command line, leave an audit row; every audit row and request
 * log line names the client's address; request ids are the server's own, never the
 * caller's (a forged id would let a caller plant or confuse log lines).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('audit gaps over real HTTP', () => {
  let http: HttpApp;
  const logLines: Record<string, unknown>[] = [];
  /** A console client over real HTTP (so the request has a socket and so a client address). */
  const client = (): ConsoleClient =>
    consoleClient({ request: (url, init) => fetch(url as string, { ...init, redirect: 'manual' }) }, http.base);

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
        cb();
      },
    });
    http = await startHttpApp({ workers: false, overrides: { logger: createLogger('info', sink) } });
  });
  afterAll(async () => {
    await http?.close();
  });

  it('makes its own request id: a caller’s X-Request-Id is neither echoed nor logged', async () => {
    const forged = 'forged-by-the-caller-42';
    const res = await fetch(`${http.base}/healthz`, { headers: { 'x-request-id': forged } });
    expect(res.status).toBe(200);
    const id = res.headers.get('x-request-id') ?? '';
    expect(id).not.toBe(forged);
    expect(id).toMatch(UUID);
    const line = logLines.find((l) => l.msg === 'request' && l.requestId === id);
    expect(line).toMatchObject({ path: '/healthz', status: 200 });
    expect(JSON.stringify(logLines)).not.toContain(forged);
  });

  it('names the client address on every request log line', async () => {
    const res = await fetch(`${http.base}/v1/notices`);
    expect(res.status).toBe(401);
    const id = res.headers.get('x-request-id');
    const line = logLines.find((l) => l.msg === 'request' && l.requestId === id);
    expect(line).toMatchObject({ path: '/v1/notices', status: 401, clientAddress: '127.0.0.1' });
  });

  it('audits a sign-in with the client address', async () => {
    const { id, token } = await http.deps.store.tokens.create('監査 太郎', 'approver');
    const c = client();
    await c.get('/console/login');
    expect((await c.post('/console/login', { token })).status).toBe(303);
    const [row] = await http.deps.store.audit.list({ limit: 1, action: 'console.signin' });
    expect(row).toMatchObject({ actor: '監査 太郎', target: `token:${id}`, clientAddress: '127.0.0.1' });
    // The console's audit page shows it beside the actor.
    expect(await c.page('/console/audit')).toContain('<small class="client-address">127.0.0.1</small>');
  });

  it('audits each failed sign-in, and the lockout once, with the client address and never the token sent', async () => {
    const c = client();
    // Each answer sets a new sign-in form cookie: read the form again before each try, as a browser would.
    const attempt = async () => {
      await c.get('/console/login');
      return c.post('/console/login', { token: wrong });
    };
    const wrong = 'hbk_this-is-not-a-real-token-0000000000000000';
    for (let i = 0; i < 10; i += 1) expect((await attempt()).status).toBe(401);
    const failed = await http.deps.store.audit.list({ limit: 50, action: 'console.signin.failed' });
    expect(failed).toHaveLength(10);
    expect(failed[0]).toMatchObject({ clientAddress: '127.0.0.1' });
    expect(JSON.stringify(failed)).not.toContain(wrong);
    // The 11th and 12th tries are refused before the token is even checked: one lockout row, not one per try.
    for (let i = 0; i < 2; i += 1) {
      const res = await attempt();
      expect(res.status).toBe(401);
      expect(res.headers.get('retry-after')).toBeTruthy();
    }
    const locked = await http.deps.store.audit.list({ limit: 50, action: 'console.signin.locked' });
    expect(locked).toHaveLength(1);
    expect(locked[0]).toMatchObject({ clientAddress: '127.0.0.1' });
    expect(await http.deps.store.audit.list({ limit: 50, action: 'console.signin.failed' })).toHaveLength(10);
  });

  it('puts the client address on the rows of staff actions through the API', async () => {
    const { token } = await http.deps.store.tokens.create('管理 花子', 'admin');
    const res = await fetch(`${http.base}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: '新人 次郎', role: 'author' }),
    });
    expect(res.status).toBe(201);
    const [row] = await http.deps.store.audit.list({ limit: 1, action: 'token.create' });
    expect(row).toMatchObject({ actor: '管理 花子', clientAddress: '127.0.0.1' });
  });
});

describe('hibiki token create and revoke from the command line', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb('sqlite');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('audits both, naming the command line as where they came from', async () => {
    const env = { DATABASE_URL: db.url, LOG_LEVEL: 'silent' };
    expect(await main(['token', 'create', '--role', 'admin', '--name', '運用 担当'], env)).toBe(0);
    const audit = createAuditRepo(db);
    const [created] = await audit.list({ limit: 1, action: 'token.create' });
    expect(created).toMatchObject({ target: '1', detail: { name: '運用 担当', role: 'admin', via: 'cli' } });
    expect(created?.actor).toMatch(/^cli/);
    expect(created?.clientAddress).toBeNull();

    expect(await main(['token', 'revoke', '1'], env)).toBe(0);
    const [revoked] = await audit.list({ limit: 1, action: 'token.revoke' });
    expect(revoked).toMatchObject({ target: '1', detail: { via: 'cli' } });
    expect(revoked?.actor).toMatch(/^cli/);
    // A revoke of nothing changes nothing, and is no audit row.
    expect(await main(['token', 'revoke', '1'], env)).toBe(1);
    expect(await audit.list({ limit: 10, action: 'token.revoke' })).toHaveLength(1);
  });
});
