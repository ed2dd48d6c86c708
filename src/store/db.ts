import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
}

// PostgreSQL returns bigint (ids, counts) as strings; every one of ours fits a double.
pg.types.setTypeParser(20, (v) => Number(v));

export interface DbOptions {
  /** PostgreSQL only: run in this schema (tests use one fresh schema per run). */
  schema?: string;
  poolSize?: number;
}

/** Opens the store named by DATABASE_URL: `sqlite:<path>` or `postgres://…`. */
export function openDb(url: string, options: DbOptions = {}): Db {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length) || ':memory:';
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const sqlite = new SQLite(path);
    // WAL lets the API read while a worker writes; busy_timeout rides out the writer lock
    // that an API and a worker process take in turns on one file.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 10000');
    sqlite.pragma('foreign_keys = ON');
    const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    return { kysely, dialect: 'sqlite', close: () => kysely.destroy() };
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { kysely, dialect: 'postgres', close: () => kysely.destroy() };
}

/** Opens the store a deployment's configuration names. */
export function openConfiguredDb(config: { databaseUrl: string; databaseSchema?: string | undefined }): Db {
  return openDb(config.databaseUrl, config.databaseSchema ? { schema: config.databaseSchema } : {});
}
