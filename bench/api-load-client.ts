import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * The HTTP load generator of the feed and API benchmarks: autocannon in a process of its
 * own, so its event loop is shared neither with the service nor with the harness that
 * starts both and reads the figures.
 */

export interface LoadRequest {
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadSpec {
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  connections: number;
  durationSeconds: number;
  /** Each connection sends these in turn, round and round. */
  requests: LoadRequest[];
  /** `[<id>]` in a header or body becomes a fresh unique id in every request (autocannon's idReplacement). */
  uniqueIds?: boolean;
  /** Statuses that count as answered; any other fails the run, so a bench never times errors. */
  expectStatus: number[];
}

export interface LoadFigures {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  statusCounts: Record<string, number>;
}

/** The part of autocannon's programmatic API used here (the package ships no types). */
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number };
  statusCodeStats?: Record<string, { count: number }>;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  idReplacement: boolean;
  requests: Array<{ method: string; path: string; headers?: Record<string, string>; body?: string }>;
}) => Promise<AutocannonResult>;

const SELF = fileURLToPath(import.meta.url);
const runChild = promisify(execFile);

/** Runs one load in a child process and returns its figures. */
export async function runLoad(spec: LoadSpec): Promise<LoadFigures> {
  const { stdout } = await runChild(process.execPath, ['--import', 'tsx', SELF, JSON.stringify(spec)], {
    env: process.env,
    maxBuffer: 16 * 1024 * 1024,
    timeout: (spec.durationSeconds + 60) * 1000,
  });
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as LoadFigures;
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

async function load(spec: LoadSpec): Promise<LoadFigures> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const result = await autocannon({
    url: spec.baseUrl,
    connections: spec.connections,
    duration: spec.durationSeconds,
    idReplacement: spec.uniqueIds === true,
    requests: spec.requests.map((r) => ({
      method: r.method ?? 'GET',
      path: r.path,
      ...(r.headers ? { headers: r.headers } : {}),
      ...(r.body !== undefined ? { body: r.body } : {}),
    })),
  });
  const statusCounts: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCounts[code] = stat.count;
  const unexpected = Object.keys(statusCounts).filter((code) => !spec.expectStatus.includes(Number(code)));
  if (unexpected.length > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `load on ${spec.requests[0]?.path}: unexpected answers ${JSON.stringify(statusCounts)}, ` +
        `${result.errors} errors, ${result.timeouts} timeouts (expected only ${spec.expectStatus.join('/')})`,
    );
  }
  const answered = Object.values(statusCounts).reduce((a, b) => a + b, 0);
  return {
    requests: answered,
    seconds: result.duration,
    requestsPerSecond: Math.round(answered / result.duration),
    p50Ms: round(result.latency.p50),
    p99Ms: round(result.latency.p99),
    statusCounts,
  };
}

if (process.argv[1] === SELF) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  const figures = await load(spec);
  console.log(JSON.stringify(figures));
}
