import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Queues } from './queue/queues.ts';

export type Metrics = ReturnType<typeof createMetrics>;

/** Prometheus metrics; one registry per process (and per test), never the global one. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hibiki_' });
  const deliveries = new Counter({
    name: 'hibiki_deliveries_total',
    help: 'Delivery outcomes recorded by this process, by channel and status',
    labelNames: ['channel', 'status'] as const,
    registers: [registry],
  });
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
    deliveries,
    sendSeconds,
    /** Queue depth is read from the queues this process knows at each scrape. */
    watchQueues(q: Queues) {
      queues = q;
    },
  };
}
