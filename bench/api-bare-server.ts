import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import SQLite from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * The baseline of the API benchmark: a bare node:http server doing the least any
 * implementation of these two calls must do against the same store and Redis, and nothing
 * else (no auth, no validation, no audit, no framework):
 * - POST /v1/notices: read and parse the JSON, insert one row keyed by its Idempotency-Key
 *   into a table of its own in the same database, push one job onto a Redis list, 202.
 * - GET /v1/notices/:id/deliveries: one SELECT of that notice's rows of Hibiki's own
 *   deliveries table (the same rows Hibiki answers with), as JSON.
 * Answering fixed bytes instead would measure the framework only; a store call and a queue
 * call per request are what a 202 or a report costs at the least.
 *
 * node --import tsx bench/api-bare-server.ts sqlite|postgres DATABASE_URL [SCHEMA] REDIS_URL PREFIX
 * → prints "listening PORT"
 */

const [kind, databaseUrl, schemaArg, redisUrl, prefix] = process.argv.slice(2);
if (!kind || !databaseUrl || schemaArg === undefined || !redisUrl || !prefix) {
  throw new Error('usage: api-bare-server.ts sqlite|postgres DATABASE_URL SCHEMA|- REDIS_URL PREFIX');
}
const schema = schemaArg === '-' ? undefined : schemaArg;

interface Store {
  insert(id: string, key: string | null, body: string, at: string): Promise<void>;
  deliveries(noticeId: string): Promise<Record<string, unknown>[]>;
}

const CREATE = `create table if not exists bench_bare_notices (
  id text primary key, idempotency_key text unique, body text not null, created_at text not null)`;
const INSERT = 'insert into bench_bare_notices (id, idempotency_key, body, created_at) values ($1, $2, $3, $4)';
const SELECT = `select id, revision, channel, recipient, status, attempts, last_error, provider_id, created_at, updated_at, sent_at
  from deliveries where notice_id = $1 order by id limit 101`;

async function openStore(): Promise<Store> {
  if (kind === 'sqlite') {
    const db = new SQLite((databaseUrl as string).slice('sqlite:'.length));
    // The same settings as Hibiki's store (src/store/db.ts).
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 1000');
    db.exec(CREATE);
    const insert = db.prepare(INSERT.replace(/\$\d/g, '?'));
    const select = db.prepare(SELECT.replace(/\$\d/g, '?'));
    return {
      insert: async (id, key, body, at) => {
        insert.run(id, key, body, at);
      },
      deliveries: async (noticeId) => select.all(noticeId) as Record<string, unknown>[],
    };
  }
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  await pool.query(CREATE);
  return {
    insert: async (id, key, body, at) => {
      await pool.query(INSERT, [id, key, body, at]);
    },
    deliveries: async (noticeId) => (await pool.query(SELECT, [noticeId])).rows,
  };
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

const store = await openStore();
const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
const queueKey = `${prefix}:bare-queue`;
const DELIVERIES = /^\/v1\/notices\/([^/]+)\/deliveries$/;

const server = createServer((req, res) => {
  const answer = async () => {
    if (req.method === 'POST' && req.url === '/v1/notices') {
      const input = JSON.parse(await readBody(req)) as Record<string, unknown>;
      const id = randomUUID();
      const key = req.headers['idempotency-key'];
      await store.insert(id, typeof key === 'string' ? key : null, JSON.stringify(input), new Date().toISOString());
      await redis.lpush(queueKey, id);
      return { status: 202, body: { id, revision: 1, status: 'queued' } };
    }
    const m = req.method === 'GET' ? DELIVERIES.exec(req.url ?? '') : null;
    if (m) {
      const rows = await store.deliveries(decodeURIComponent(m[1] as string));
      return { status: 200, body: { items: rows.slice(0, 100), nextCursor: null } };
    }
    return { status: 404, body: { error: 'not found' } };
  };
  answer().then(
    ({ status, body }) => {
      const json = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.end(json);
    },
    (err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
    },
  );
});
server.keepAliveTimeout = 10_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => {
    redis.disconnect();
    process.exit(0);
  });
});
