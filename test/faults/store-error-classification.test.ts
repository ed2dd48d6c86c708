import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelError } from '../../channels/types.ts';
import { createApp } from '../../src/app.ts';
import { openDb } from '../../src/store/db.ts';
import { isStoreUnavailable } from '../../src/store/store-errors.ts';
import { notice } from '../helpers/api.ts';
import { createTestDb, PG_URL, type TestDb } from '../helpers/db.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { freePort } from '../helpers/redis-server.ts';

const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code });

/**
 * What counts as "the store is away" (a 503 and a paused worker) and what does not (a 500,
 * or a delivery's own retry): real driver errors, not hand-made guesses of them.
 */
describe('isStoreUnavailable', () => {
  let sqlite: TestDb;

  beforeAll(async () => {
    sqlite = await createTestDb('sqlite');
  });
  afterAll(async () => {
    await sqlite.drop();
  });

  it('knows PostgreSQL refusing connections, from the store’s own pool', async () => {
    const port = await freePort();
    const url = new URL(PG_URL);
    url.port = String(port);
    const db = openDb(url.toString());
    const err = await db.kysely
      .selectFrom('notices')
      .selectAll()
      .execute()
      .catch((e: unknown) => e);
    await db.close().catch(() => undefined);
    expect((err as { code?: string }).code).toBe('ECONNREFUSED');
    expect(isStoreUnavailable(err)).toBe(true);
  });

  it('knows SQLite locked by another connection for longer than busy_timeout', async () => {
    const path = sqlite.url.slice('sqlite:'.length);
    const holder = new SQLite(path);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const err = await sqlite.kysely
        .insertInto('settings')
        .values({ key: 'probe', value: 'x' } as never)
        .execute()
        .catch((e: unknown) => e);
      expect((err as { code?: string }).code).toMatch(/^SQLITE_BUSY/);
      expect(isStoreUnavailable(err)).toBe(true);
      await expect(sqlite.probe()).rejects.toMatchObject({ code: expect.stringMatching(/^SQLITE_BUSY/) });
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    await expect(sqlite.probe()).resolves.toBeUndefined();
  });

  it('knows PostgreSQL shutting down (57P01) and a pool that timed out, wrapped or not', () => {
    const shutdown = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    expect(isStoreUnavailable(shutdown)).toBe(true);
    expect(isStoreUnavailable(new Error('outer', { cause: shutdown }))).toBe(true);
    expect(isStoreUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isStoreUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
  });

  it('does not take other errors for the store being away', () => {
    // An SMTP relay or a webhook refusing a connection is the channel's failure, not the store's.
    expect(isStoreUnavailable(socketError('ECONNREFUSED'))).toBe(false);
    expect(
      isStoreUnavailable(new ChannelError('mail', 'retryable', 'relay down', { cause: socketError('ECONNRESET') })),
    ).toBe(false);
    expect(isStoreUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isStoreUnavailable(Object.assign(new Error('constraint'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }))).toBe(
      false,
    );
    expect(isStoreUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isStoreUnavailable(undefined)).toBe(false);
  });
});

describe('the API while the store is away', () => {
  let deps: TestDeps;

  beforeAll(async () => {
    deps = await createTestDeps({ store: 'sqlite' });
  });
  afterAll(async () => {
    await deps.dispose();
  });

  it('answers 503 with Retry-After and a bilingual body, and /readyz says not ready', async () => {
    const { token } = await deps.store.tokens.create('outage', 'approver');
    const path = deps.env.DATABASE_URL?.slice('sqlite:'.length) ?? '';
    const holder = new SQLite(path);
    holder.exec('BEGIN EXCLUSIVE');
    try {
      const app = createApp(deps);
      const api = await app.request('/v1/notices', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(notice()),
      });
      expect(api.status).toBe(503);
      expect(api.headers.get('retry-after')).toMatch(/^\d+$/);
      const body = (await api.json()) as { error: { code: string; message: string; message_en: string } };
      expect(body.error).toMatchObject({ code: 'store_unavailable' });
      expect(body.error.message).toContain('データベース');
      expect(body.error.message_en).toContain('database');

      const ready = await app.request('/readyz');
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: { store: string } }).checks.store).toBe('error');
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    expect((await createApp(deps).request('/readyz')).status).toBe(200);
  });
});
