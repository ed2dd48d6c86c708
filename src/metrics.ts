import type { Redis } from 'ioredis';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Queues } from './queue/queues.ts';

export type Metrics = ReturnType<typeof createMetrics>;

export interface DeliveryLabels {
  channel: string;
  status: 'sent' | 'failed' | 'skipped';
}

/** Where delivery outcomes are counted for every process at once. */
interface SharedCounts {
  redis: Pick<Redis, 'hincrby' | 'hgetall'>;
  key: string;
}

/** prom-client's default gauges whose names end in _total, which only counters may. */
export const TOTAL_NAMED_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
] as const;

/** Prometheus metrics; one registry per process (and per test), never the global one. */
export function createMetrics() {
  const registry = new Registry();
  // Under their standard names (process_*, nodejs_*), which stock Node.js dashboards and alerts
  // query; only our own metrics carry the hibiki_ prefix.
  collectDefaultMetrics({ register: registry });
  // prom-client also sums each of these per-type gauges into a gauge named *_total, a name
  // Prometheus keeps for counters (`promtool check metrics` refuses it). sum(nodejs_active_handles)
  // is the same number.
  for (const name of TOTAL_NAMED_GAUGES) registry.removeSingleMetric(name);

  // Outcomes are recorded by worker processes, but only the API process answers /metrics:
  // once shareCounts() is called they are counted in Redis, so every process reports the
  // same totals; until then (or if Redis cannot be read) each counts its own.
  let shared: SharedCounts | undefined;
  const local = new Map<string, number>();
  const fieldOf = (l: DeliveryLabels) => `${l.channel}|${l.status}`;
  new Counter({
    name: 'hibiki_deliveries_total',
    help: 'Delivery outcomes by channel and status (sent, failed, skipped), counted by every worker process',
    labelNames: ['channel', 'status'] as const,
    registers: [registry],
    async collect() {
      let totals: Iterable<[string, number]> = local;
      if (shared) {
        try {
          const all = await shared.redis.hgetall(shared.key);
          totals = Object.entries(all).map(([field, n]): [string, number] => [field, Number(n)]);
        } catch {
          // Redis is down: the local counts are better than a failed scrape.
        }
      }
      this.reset();
      for (const [field, n] of totals) {
        const [channel = '', status = ''] = field.split('|');
        if (Number.isFinite(n) && n > 0) this.inc({ channel, status }, n);
      }
    },
  });
  const deliveries = {
    inc(labels: DeliveryLabels, value = 1): void {
      if (!(value > 0)) return;
      const field = fieldOf(labels);
      local.set(field, (local.get(field) ?? 0) + value);
      // A count that cannot be written must never fail a delivery.
      shared?.redis.hincrby(shared.key, field, value).catch(() => undefined);
    },
  };

  const sendSeconds = new Histogram({
    name: 'hibiki_send_duration_seconds',
    help: 'Time of one channel send() call (one batch attempt)',
    labelNames: ['channel'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  let queues: Queues | undefined;
  new Gauge({
    name: 'hibiki_queue_jobs',
    help: 'Jobs in each queue by state, read from Redis at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      if (!queues) return;
      for (const q of queues.all()) {
        const counts = await q.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed');
        for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
      }
    },
  });

  return {
    registry,
    /** Delivery outcomes: `deliveries.inc({ channel, status }, n)`. */
    deliveries,
    sendSeconds,
    /** Queue depth is read from the queues this process knows at each scrape. */
    watchQueues(q: Queues) {
      queues = q;
    },
    /** Counts delivery outcomes in Redis under the queue prefix, shared by every process of the deployment. */
    shareCounts(redis: SharedCounts['redis'], prefix: string) {
      shared = { redis, key: `${prefix}:metrics:deliveries` };
    },
  };
}
