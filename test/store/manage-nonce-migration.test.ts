import type { Kysely } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createLinks } from '../../src/domain/links.ts';
import { migrate } from '../../src/store/migrations.ts';
import { createTestDb, STORE_KINDS, type TestDb } from '../helpers/db.ts';

/**
 * 0008_residents on a store from before it: links in mails already sent keep working for
 * residents still subscribed, and die for those who had already unsubscribed.
 */
describe.each(STORE_KINDS)('0008_residents on an older %s store', (kind) => {
  const dbs: TestDb[] = [];
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it('gives residents who had unsubscribed a new nonce, and keeps the old links of the others', async () => {
    // The schema just before 0008.
    const db = await createTestDb(kind, { upTo: '0007_oidc' });
    dbs.push(db);
    // biome-ignore lint/suspicious/noExplicitAny: the schema before 0008 has no type of its own
    const k = db.kysely as unknown as Kysely<any>;

    const at = new Date().toISOString();
    const person = async (address: string, active: number) => {
      const s = await k
        .insertInto('subscribers')
        .values({ locale: 'ja', created_at: at, updated_at: at })
        .returning('id')
        .executeTakeFirstOrThrow();
      await k
        .insertInto('contacts')
        .values({
          subscriber_id: s.id,
          channel: 'mail',
          address,
          verified: 1,
          active,
          deactivated_reason: active ? null : 'unsubscribed',
          created_at: at,
          updated_at: at,
        })
        .execute();
      return Number(s.id);
    };
    const staying = await person('stays@example.jp', 1);
    const left = await person('left@example.jp', 0);

    expect((await migrate(db))[0]).toBe('0008_residents');
    const nonces = new Map(
      (await k.selectFrom('subscribers').select(['id', 'manage_nonce']).execute()).map((r) => [
        Number(r.id),
        r.manage_nonce as string,
      ]),
    );
    expect(nonces.get(staying)).toBe('');
    expect(nonces.get(left)).toMatch(/^[A-Za-z0-9_-]{22}$/);

    // A link signed as before 0008 (no nonce) still opens the one who stayed, not the one who left.
    const links = createLinks('https://hibiki.example.jp', 'a-test-secret-that-is-long-enough-000');
    const legacy = (id: number) => links.manageToken(id, '');
    expect(links.verifyManageToken(legacy(staying), nonces.get(staying) as string)).toBe(true);
    expect(links.verifyManageToken(legacy(left), nonces.get(left) as string)).toBe(false);
  });
});
