import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type Db, openDb } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrations.ts';

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type StoreKind = 'sqlite' | 'postgres';
export const STORE_KINDS: StoreKind[] = ['sqlite', 'postgres'];

export interface TestDb extends Db {
  /** Drops the test's database (SQLite file or PostgreSQL schema). */
  drop(): Promise<void>;
  url: string;
  schema?: string;
}

/**
 * A fresh, migrated database of its own for one test file: a temp SQLite file or a new
 * PostgreSQL schema; `upTo` leaves it at an older schema, for a test of a later migration.
 */
export async function createTestDb(kind: StoreKind = 'sqlite', options: { upTo?: string } = {}): Promise<TestDb> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'hibiki-db-'));
    const url = `sqlite:${join(dir, 'test.db')}`;
    const db = openDb(url);
    await migrate(db, options);
    return {
      ...db,
      url,
      async drop() {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const db = openDb(PG_URL, { schema, poolSize: 4 });
  await migrate(db, options);
  return {
    ...db,
    url: PG_URL,
    schema,
    async drop() {
      await db.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    },
  };
}
