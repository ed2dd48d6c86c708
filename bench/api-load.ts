import { fileURLToPath } from 'node:url';
import { openDb } from '../src/store/db.ts';
import { createSubscriberRepo } from '../src/store/subscribers.ts';
import { REDIS_URL } from '../test/helpers/redis.ts';
import { compare, type LoadRow, PROFILES } from './api-compare.ts';
import { runLoad } from './api-load-client.ts';
import { type BenchStore, NODE_FLAGS, queuedJobs, startBareServer, startBenchService } from './api-service.ts';
import { benchNotices } from './feed-notices.ts';
import { until } from './lib.ts';

/**
 * Scenario 5, the staff API under load: POST /v1/notices (each with its own
 * Idempotency-Key, as the README's clients send) and GET /v1/notices/:id/deliveries, 100
 * clients at once, against `hibiki all` as `npm start` runs it. Each notice goes to a few
 * seeded residents by mail (written to the outbox, as without SMTP_URL) and to the CAP
 * feed, so the workers in the same process do that small fan-out while the API is timed;
 * the queue is left to drain between rounds so one round's backlog does not weigh on the
 * next. The baseline (bench/api-bare-server.ts) does one insert and one Redis push per
 * POST and one SELECT per GET against the same store and Redis.
 */

const BARE_SCRIPT = fileURLToPath(new URL('./api-bare-server.ts', import.meta.url));
const CONNECTIONS = 100;
const RESIDENTS = 3;
const REPORT_NOTICES = 20;

export interface ApiLoadResult {
  scenario: 'api-load';
  profile: 'quick' | 'full';
  nodeFlags: string[];
  connections: number;
  residents: number;
  /** What each posted notice makes the workers do, in the same process, while the API is timed. */
  fanOut: string;
  rows: LoadRow[];
  /** Per store: seconds the workers needed after the last POST round to finish its notices. */
  drainSeconds: Record<string, number>;
}

async function waitForIdleQueue(baseUrl: string): Promise<number> {
  const started = performance.now();
  await until('the queue to drain', async () => (await queuedJobs(baseUrl)) === 0, 300_000, 250);
  return Math.round((performance.now() - started) / 100) / 10;
}

async function apiLoadOn(store: BenchStore, profile: 'quick' | 'full') {
  const service = await startBenchService(store, { command: 'all', env: { CHANNELS: 'mail,cap' } });
  let bare: Awaited<ReturnType<typeof startBareServer>> | undefined;
  try {
    const auth = { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' };
    const residents = Array.from({ length: RESIDENTS }, (_, i) => ({
      email: `resident${i}@example.jp`,
      topics: ['disaster', 'shelter'],
      areas: [],
      locale: 'ja' as const,
    }));
    // Confirmed residents straight into the store: the API's import (admins only) would
    // mail each a confirmation and send them nothing until it is used.
    const db = openDb(service.db.env.DATABASE_URL as string, service.db.schema ? { schema: service.db.schema } : {});
    try {
      await createSubscriberRepo(db).importMail(residents);
    } finally {
      await db.close();
    }

    // Notices whose delivery reports the GET case reads: sent, each with its rows.
    const notices = benchNotices(REPORT_NOTICES);
    const ids: string[] = [];
    for (const [i, notice] of notices.entries()) {
      const res = await fetch(`${service.baseUrl}/v1/notices`, {
        method: 'POST',
        headers: { ...auth, 'idempotency-key': `bench-report-${i}` },
        body: JSON.stringify(notice),
      });
      if (res.status !== 202) throw new Error(`seeding notices: ${res.status} ${await res.text()}`);
      ids.push(((await res.json()) as { id: string }).id);
    }
    await waitForIdleQueue(service.baseUrl);

    const args = [store, service.db.env.DATABASE_URL as string, service.db.schema ?? '-', REDIS_URL, service.prefix];
    bare = await startBareServer(BARE_SCRIPT, args);

    // A routine notice: an emergency would add the approval rows of an approver's own post.
    const posted = notices.find((n) => n.severity !== 'emergency') ?? notices[0];
    const postRequest = {
      method: 'POST' as const,
      path: '/v1/notices',
      // `[<id>]` becomes a fresh id in each request: each POST is a new notice, as a retry-safe client sends it.
      headers: { ...auth, 'idempotency-key': 'bench-[<id>]' },
      body: JSON.stringify(posted),
    };
    const getRequests = ids.map((id) => ({ path: `/v1/notices/${id}/deliveries`, headers: auth }));
    for (const baseUrl of [service.baseUrl, bare.baseUrl]) {
      await runLoad({
        baseUrl,
        connections: CONNECTIONS,
        durationSeconds: 1,
        requests: getRequests,
        expectStatus: [200],
      });
    }
    const rows: LoadRow[] = [];
    let drainSeconds = 0;
    rows.push(
      await compare({
        store,
        case: 'POST /v1/notices',
        hibikiUrl: service.baseUrl,
        baselineUrl: bare.baseUrl,
        load: { connections: CONNECTIONS, requests: [postRequest], uniqueIds: true, expectStatus: [202] },
        profile: PROFILES[profile],
        settle: async () => {
          drainSeconds = Math.max(drainSeconds, await waitForIdleQueue(service.baseUrl));
        },
      }),
    );
    console.log(`  (${store}: the workers finished the posted notices ${drainSeconds} s after the last POST round)`);
    rows.push(
      await compare({
        store,
        case: 'GET /v1/notices/:id/deliveries',
        hibikiUrl: service.baseUrl,
        baselineUrl: bare.baseUrl,
        load: { connections: CONNECTIONS, requests: getRequests, expectStatus: [200] },
        profile: PROFILES[profile],
      }),
    );
    return { rows, drainSeconds };
  } finally {
    await bare?.stop();
    await service.stop();
  }
}

export async function apiLoad(opts: {
  profile: 'quick' | 'full';
  stores: ('sqlite' | 'postgres')[];
}): Promise<ApiLoadResult> {
  const { rounds, secondsPerRound } = PROFILES[opts.profile];
  const fanOut = `${RESIDENTS} residents by mail (.eml files in the outbox) and one CAP message per notice`;
  console.log(
    `API load: ${CONNECTIONS} connections, ${rounds} × ${secondsPerRound} s per case, hibiki all ` +
      `(node ${NODE_FLAGS.join(' ')}; each notice to ${fanOut}) vs a bare node:http server with one store call and one Redis call per request…`,
  );
  const result: ApiLoadResult = {
    scenario: 'api-load',
    profile: opts.profile,
    nodeFlags: NODE_FLAGS,
    connections: CONNECTIONS,
    residents: RESIDENTS,
    fanOut,
    rows: [],
    drainSeconds: {},
  };
  for (const store of opts.stores) {
    const one = await apiLoadOn(store, opts.profile);
    result.rows.push(...one.rows);
    result.drainSeconds[store] = one.drainSeconds;
  }
  return result;
}

// node --import tsx bench/api-load.ts [quick|full] [sqlite,postgres]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const profile = process.argv[2] === 'full' ? 'full' : 'quick';
  const stores = (process.argv[3] ?? 'sqlite,postgres').split(',') as BenchStore[];
  const result = await apiLoad({ profile, stores });
  console.log(JSON.stringify(result, null, 2));
}
