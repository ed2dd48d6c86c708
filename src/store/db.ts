import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  Kysely,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  type SqliteDatabase,
  SqliteDialect,
  sql,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';
import { markIfStoreUnavailable } from './store-errors.ts';

export type Dialect = 'sqlite' | 'postgres';

/** Prepared statements kept per SQLite connection. */
const STATEMENT_CACHE_SIZE = 32;

/**
 * Kysely prepares every query anew; a worker sends the same few statements (a batch's
 * 500-row INSERT, its outcome UPDATEs) thousands of times, and preparing them took a
 * quarter of its store time. Kept statements are safe to reuse: Kysely runs one query at
 * a time on the connection, and Hibiki never streams (iterates) a SQLite result.
 */
function withStatementCache(sqlite: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement) {
        // Most recently used last, so the oldest is the first key.
        cache.delete(text);
      } else {
        statement = sqlite.prepare(text);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      }
      cache.set(text, statement);
      return statement;
    },
  };
}

export interface Db {
  kysely: Kysely<Database>;
  dialect: Dialect;
  /**
   * Resolves when the store can be read and written now; rejects with the driver's error
   * when it cannot (PostgreSQL unreachable, or the SQLite write lock held elsewhere).
   */
  probe(): Promise<void>;
  close(): Promise<void>;
}

// PostgreSQL returns bigint (ids, counts) as strings; every one of ours fits a double.
pg.types.setTypeParser(20, (v) => Number(v));

/**
 * better-sqlite3 waits for a lock synchronously, holding up the whole process (HTTP,
 * queue locks, SMTP) while it waits. One second rides out another process's write (a few
 * milliseconds) many times over; a lock held longer (a VACUUM, someone's open transaction)
 * then becomes SQLITE_BUSY: a 503 from the API and a pause in the workers, not a frozen process.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 1_000;
/** The readiness probe's own wait for the SQLite write lock: contention is milliseconds. */
const SQLITE_PROBE_BUSY_MS = 200;
/** How long a PostgreSQL connection attempt may take before it fails (and the request with it). */
export const PG_CONNECT_TIMEOUT_MS = 5_000;

export interface DbOptions {
  /** PostgreSQL only: run in this schema (tests use one fresh schema per run). */
  schema?: string;
  poolSize?: number;
  /**
   * PostgreSQL only: told of an error on an idle pooled connection (the server restarted,
   * the network dropped it). The connection is discarded either way; without a listener
   * node-postgres would crash the process.
   */
  onIdleError?: (err: Error) => void;
}

/**
 * The pool as Kysely sees it, marking connectivity errors of the store's own sockets so
 * that isStoreUnavailable() knows them (an ECONNRESET alone does not say whose socket it was).
 */
function markingPool(pool: pg.Pool): PostgresPool {
  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let w = wrapped.get(client);
    if (!w) {
      // Checked out, a client has no pool listener: an error between two queries of a
      // transaction would otherwise crash the process. The next query reports it instead.
      client.on('error', () => undefined);
      const query = (text: unknown, parameters?: ReadonlyArray<unknown>) =>
        typeof text === 'string'
          ? client.query(text, parameters as unknown[]).catch((err: unknown) => {
              throw markIfStoreUnavailable(err);
            })
          : client.query(text as never);
      w = { query: query as unknown as PostgresPoolClient['query'], release: (destroy) => client.release(destroy) };
      wrapped.set(client, w);
    }
    return w;
  };
  return {
    connect: () =>
      pool.connect().then(wrap, (err: unknown) => {
        throw markIfStoreUnavailable(err);
      }),
    end: () => pool.end(),
  };
}

/** Opens the store named by DATABASE_URL: `sqlite:<path>` or `postgres://…`. */
export function openDb(url: string, options: DbOptions = {}): Db {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length) || ':memory:';
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const sqlite = new SQLite(path);
    // WAL lets the API read while a worker writes, and keeps reads going while another
    // connection holds the write lock; busy_timeout rides out the writer lock that an API
    // and a worker process take in turns on one file.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    sqlite.pragma('foreign_keys = ON');
    const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    return {
      kysely,
      dialect: 'sqlite',
      // Taking the write lock and letting it go at once: a lock held elsewhere shows here,
      // where `select 1` (which touches no table) would pass. The connection is held
      // meanwhile, so the shorter wait applies to this probe alone.
      probe: () =>
        kysely.connection().execute(async (conn) => {
          sqlite.pragma(`busy_timeout = ${SQLITE_PROBE_BUSY_MS}`);
          try {
            await sql`begin immediate`.execute(conn);
            await sql`rollback`.execute(conn);
          } finally {
            sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
          }
        }),
      close: () => kysely.destroy(),
    };
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    // A server that does not answer fails the query after this, instead of holding the
    // request (and the job's lock) for as long as the OS keeps trying.
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    // A connection whose server vanished without a word (a failover, a dropped NAT entry)
    // is found dead by TCP keepalive instead of hanging a query for hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    ...(options.schema ? { options: `-c search_path=${options.schema}` } : {}),
  });
  const onIdleError = options.onIdleError ?? (() => undefined);
  pool.on('error', (err) => onIdleError(err));
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool: markingPool(pool) }) });
  return {
    kysely,
    dialect: 'postgres',
    probe: async () => {
      await sql`select 1`.execute(kysely);
    },
    close: () => kysely.destroy(),
  };
}

/** Opens the store a deployment's configuration names. */
export function openConfiguredDb(
  config: { databaseUrl: string; databaseSchema?: string | undefined },
  options: Pick<DbOptions, 'onIdleError'> = {},
): Db {
  return openDb(config.databaseUrl, {
    ...options,
    ...(config.databaseSchema ? { schema: config.databaseSchema } : {}),
  });
}

/** The store itself or a transaction on it: what a repository function can run its queries on. */
export type Executor = Db['kysely'] | Transaction<Database>;
