import { type LoadFigures, type LoadSpec, runLoad } from './api-load-client.ts';
import { median } from './lib.ts';

/** One case of a load scenario against one store: Hibiki and its baseline, measured in turn in one run. */
export interface LoadRow {
  store: 'sqlite' | 'postgres';
  case: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  baselineRequestsPerSecond: number;
  baselineP50Ms: number;
  baselineP99Ms: number;
  /** Hibiki's requests/s over the baseline's. */
  ratio: number;
  goal?: string;
  met?: boolean;
  /** Seconds of load on each of Hibiki and the baseline (all rounds). */
  durationSeconds: number;
  connections: number;
  rounds: number;
  /** What answered, summed over Hibiki's rounds (status → count). */
  statusCounts: Record<string, number>;
}

export interface Profile {
  rounds: number;
  secondsPerRound: number;
}

/** quick: one round of ~5 s per case; full: three rounds of 5 s (~15 s per case), medians reported. */
export const PROFILES: Record<'quick' | 'full', Profile> = {
  quick: { rounds: 1, secondsPerRound: 5 },
  full: { rounds: 3, secondsPerRound: 5 },
};

export interface Goal {
  text: string;
  minRequestsPerSecond?: number;
  maxP99Ms?: number;
}

export interface CompareOptions {
  store: 'sqlite' | 'postgres';
  case: string;
  hibikiUrl: string;
  baselineUrl: string;
  /** The load without its base URL: the same requests go to both servers. */
  load: Omit<LoadSpec, 'baseUrl' | 'durationSeconds'>;
  profile: Profile;
  goal?: Goal;
  /** Called between rounds (e.g. to let a queue drain so one round's backlog does not land on the next). */
  settle?: () => Promise<void>;
}

const medianOf = (runs: LoadFigures[], key: 'requestsPerSecond' | 'p50Ms' | 'p99Ms') => median(runs.map((r) => r[key]));

/**
 * Hibiki and the baseline alternately, round by round (the order swapped each round), so
 * the other benchmarks sharing this machine weigh on both alike; medians of the rounds.
 */
export async function compare(options: CompareOptions): Promise<LoadRow> {
  const { profile } = options;
  const hibiki: LoadFigures[] = [];
  const baseline: LoadFigures[] = [];
  for (let round = 0; round < profile.rounds; round++) {
    const order = round % 2 === 0 ? (['baseline', 'hibiki'] as const) : (['hibiki', 'baseline'] as const);
    for (const who of order) {
      const baseUrl = who === 'hibiki' ? options.hibikiUrl : options.baselineUrl;
      const figures = await runLoad({ ...options.load, baseUrl, durationSeconds: profile.secondsPerRound });
      (who === 'hibiki' ? hibiki : baseline).push(figures);
      await options.settle?.();
    }
  }
  const requestsPerSecond = Math.round(medianOf(hibiki, 'requestsPerSecond'));
  const baselineRequestsPerSecond = Math.round(medianOf(baseline, 'requestsPerSecond'));
  const p99Ms = medianOf(hibiki, 'p99Ms');
  const statusCounts: Record<string, number> = {};
  for (const run of hibiki)
    for (const [code, n] of Object.entries(run.statusCounts)) statusCounts[code] = (statusCounts[code] ?? 0) + n;
  const goal = options.goal;
  const row: LoadRow = {
    store: options.store,
    case: options.case,
    requestsPerSecond,
    p50Ms: medianOf(hibiki, 'p50Ms'),
    p99Ms,
    baselineRequestsPerSecond,
    baselineP50Ms: medianOf(baseline, 'p50Ms'),
    baselineP99Ms: medianOf(baseline, 'p99Ms'),
    ratio: Math.round((requestsPerSecond / baselineRequestsPerSecond) * 100) / 100,
    ...(goal
      ? {
          goal: goal.text,
          met:
            requestsPerSecond >= (goal.minRequestsPerSecond ?? 0) &&
            (goal.maxP99Ms === undefined || p99Ms < goal.maxP99Ms),
        }
      : {}),
    durationSeconds: profile.rounds * profile.secondsPerRound,
    connections: options.load.connections,
    rounds: profile.rounds,
    statusCounts,
  };
  console.log(formatRow(row));
  return row;
}

export function formatRow(row: LoadRow): string {
  const goal = row.goal ? ` — goal ${row.goal}: ${row.met ? 'met' : 'NOT met'}` : '';
  return (
    `  ${row.store} ${row.case}: hibiki ${row.requestsPerSecond} req/s, p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms | ` +
    `baseline ${row.baselineRequestsPerSecond} req/s, p50 ${row.baselineP50Ms} ms, p99 ${row.baselineP99Ms} ms | ` +
    `ratio ${row.ratio}${goal}`
  );
}
