import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/store/migrations.ts';
import { createTestDb, STORE_KINDS, type TestDb } from '../helpers/db.ts';

describe.each(STORE_KINDS)('migrations on %s', (kind) => {
  const dbs: TestDb[] = [];
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it('migrates two stores side by side, and a second run applies nothing', async () => {
    // Two schemas in one PostgreSQL database must not see each other's migration tables.
    const [a, b] = await Promise.all([createTestDb(kind), createTestDb(kind)]);
    dbs.push(a as TestDb, b as TestDb);
    expect(await migrate(a as TestDb)).toEqual([]);
    const tables = await (b as TestDb).kysely.introspection.getTables();
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['notices', 'deliveries', 'contacts', 'cap_messages']),
    );
  });
});
