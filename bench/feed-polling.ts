import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compare, type Goal, type LoadRow, PROFILES } from './api-compare.ts';
import { runLoad } from './api-load-client.ts';
import { type BenchStore, NODE_FLAGS, startBareServer, startBenchService } from './api-service.ts';
import { benchNotices } from './feed-notices.ts';
import { until } from './lib.ts';

/**
 * Scenario 4, the CAP feed under polling: aggregators and residents' apps poll
 * /feeds/cap.atom (mostly conditionally, answered 304) and fetch each CAP file once.
 * `hibiki all` runs as `npm start` runs it, over a store seeded through the API with
 * notices of the city's own texts; the baseline is a bare node:http server answering the
 * same bytes from memory.
 */

const BARE_SCRIPT = fileURLToPath(new URL('./bare-feed-server.ts', import.meta.url));
const CONNECTIONS = 200;
const ENTRIES = 20;
const P99_MS = 50;
const CONDITIONAL: Goal = { text: `≥ 10000 req/s, p99 < ${P99_MS} ms`, minRequestsPerSecond: 10_000, maxP99Ms: P99_MS };
const FULL: Goal = { text: `≥ 5000 req/s, p99 < ${P99_MS} ms`, minRequestsPerSecond: 5_000, maxP99Ms: P99_MS };

export interface FeedPollingResult {
  scenario: 'feed-polling';
  profile: 'quick' | 'full';
  nodeFlags: string[];
  connections: number;
  /** Entries in the feed during the run, and the sizes of what a full GET answers. */
  entries: number;
  feedBytes: number;
  capFileBytes: { min: number; max: number };
  rows: LoadRow[];
}

interface Captured {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What Hibiki answers at a path, headers included: the bare server answers the same. */
async function capture(baseUrl: string, path: string): Promise<Captured> {
  const res = await fetch(`${baseUrl}${path}`);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'etag', 'cache-control', 'last-modified', 'x-content-type-options']) {
    const value = res.headers.get(name);
    if (value !== null) headers[name] = value;
  }
  return { status: 200, headers, body: await res.text() };
}

const entryPaths = (atom: string): string[] =>
  [...atom.matchAll(/<link rel="alternate" type="application\/cap\+xml" href="([^"]+)"/g)].map(
    (m) => new URL(m[1] as string).pathname,
  );

async function seedFeed(baseUrl: string, token: string): Promise<void> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  for (const [i, notice] of benchNotices(ENTRIES).entries()) {
    const res = await fetch(`${baseUrl}/v1/notices`, {
      method: 'POST',
      headers: { ...headers, 'idempotency-key': `bench-feed-${i}` },
      body: JSON.stringify({ ...notice, channels: ['cap'] }),
    });
    if (res.status !== 202) throw new Error(`seeding the feed: POST /v1/notices ${res.status} ${await res.text()}`);
  }
  await until(
    `${ENTRIES} entries in the CAP feed`,
    async () => entryPaths(await (await fetch(`${baseUrl}/feeds/cap.atom`)).text()).length >= ENTRIES,
    60_000,
    200,
  );
}

async function feedPollingOn(store: BenchStore, profile: 'quick' | 'full') {
  const service = await startBenchService(store, { command: 'all', env: { CHANNELS: 'mail,cap' } });
  let bare: Awaited<ReturnType<typeof startBareServer>> | undefined;
  try {
    await seedFeed(service.baseUrl, service.token);
    // The ETag must not move during the run: the conditional cases accept nothing but 304.
    const feed = await capture(service.baseUrl, '/feeds/cap.atom');
    const files = entryPaths(feed.body);
    const routes: Record<string, Captured> = { '/feeds/cap.atom': feed };
    for (const path of files) routes[path] = await capture(service.baseUrl, path);
    const routesFile = join(service.dir, 'bare-routes.json');
    writeFileSync(routesFile, JSON.stringify(routes));
    bare = await startBareServer(BARE_SCRIPT, [routesFile]);

    const feedEtag = feed.headers.etag ?? '';
    const fileRequests = (conditional: boolean) =>
      files.map((path) => ({
        path,
        ...(conditional ? { headers: { 'if-none-match': routes[path]?.headers.etag ?? '' } } : {}),
      }));
    const cases = [
      {
        name: 'feed 304 (If-None-Match)',
        requests: [{ path: '/feeds/cap.atom', headers: { 'if-none-match': feedEtag } }],
        expect: 304,
        goal: CONDITIONAL,
      },
      { name: 'feed full GET', requests: [{ path: '/feeds/cap.atom' }], expect: 200, goal: FULL },
      { name: 'CAP files 304', requests: fileRequests(true), expect: 304, goal: CONDITIONAL },
      { name: 'CAP files full GET', requests: fileRequests(false), expect: 200, goal: FULL },
    ];
    // A short warm-up of each server on every kind of request, so the first case does not time the JIT.
    for (const baseUrl of [service.baseUrl, bare.baseUrl]) {
      await runLoad({
        baseUrl,
        connections: CONNECTIONS,
        durationSeconds: 2,
        requests: cases.flatMap((c) => c.requests),
        expectStatus: [200, 304],
      });
    }
    const rows: LoadRow[] = [];
    for (const c of cases) {
      rows.push(
        await compare({
          store,
          case: c.name,
          hibikiUrl: service.baseUrl,
          baselineUrl: bare.baseUrl,
          load: { connections: CONNECTIONS, requests: c.requests, expectStatus: [c.expect] },
          profile: PROFILES[profile],
          goal: c.goal,
        }),
      );
    }
    const fileSizes = files.map((path) => Buffer.byteLength(routes[path]?.body ?? ''));
    return {
      rows,
      entries: files.length,
      feedBytes: Buffer.byteLength(feed.body),
      capFileBytes: { min: Math.min(...fileSizes), max: Math.max(...fileSizes) },
    };
  } finally {
    await bare?.stop();
    await service.stop();
  }
}

export async function feedPolling(opts: {
  profile: 'quick' | 'full';
  stores: ('sqlite' | 'postgres')[];
}): Promise<FeedPollingResult> {
  const { rounds, secondsPerRound } = PROFILES[opts.profile];
  console.log(
    `feed polling: ${ENTRIES} CAP entries, ${CONNECTIONS} connections, ${rounds} × ${secondsPerRound} s per case, ` +
      `hibiki all (node ${NODE_FLAGS.join(' ')}) vs a bare node:http server answering the same bytes…`,
  );
  const result: FeedPollingResult = {
    scenario: 'feed-polling',
    profile: opts.profile,
    nodeFlags: NODE_FLAGS,
    connections: CONNECTIONS,
    entries: 0,
    feedBytes: 0,
    capFileBytes: { min: 0, max: 0 },
    rows: [],
  };
  for (const store of opts.stores) {
    const one = await feedPollingOn(store, opts.profile);
    result.rows.push(...one.rows);
    result.entries = one.entries;
    result.feedBytes = one.feedBytes;
    result.capFileBytes = one.capFileBytes;
    console.log(
      `  (${store}: feed ${one.feedBytes} bytes with ${one.entries} entries, CAP files ${one.capFileBytes.min}–${one.capFileBytes.max} bytes)`,
    );
  }
  return result;
}

// node --import tsx bench/feed-polling.ts [quick|full] [sqlite,postgres]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const profile = process.argv[2] === 'full' ? 'full' : 'quick';
  const stores = (process.argv[3] ?? 'sqlite,postgres').split(',') as BenchStore[];
  const result = await feedPolling({ profile, stores });
  console.log(JSON.stringify(result, null, 2));
}
