/**
 * The layers of Hibiki, bottom to top (README, "Architecture"):
 *   src/domain                               the vocabulary; imports nothing else of ours
 *   src/store · src/queue · channels          stand on domain; channels know nothing of BullMQ,
 *                                             the store, the queues or the environment
 *   src/services                              the use cases; no HTTP, no BullMQ
 *   workers · src/http · src/api · src/web · src/feeds   on top
 *   src/main.ts · src/deps.ts · src/app.ts · src/config.ts   wire them
 * src/logger.ts and src/metrics.ts are the process's shared instruments: any layer above
 * domain may use them. Services and the top layers may name the root's types (Deps, Config)
 * in an `import type`, to say which part of the wiring they take; never its values.
 * Each rule's comment is what lint prints when an import breaks it.
 */
const ROOT = '^src/(main|deps|app|config|listen|bin)\\.';
const TOP = '^(workers|src/(http|api|web|feeds))/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycle: two modules need each other. Move what both need one layer down (usually to src/domain).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-is-the-bottom',
      severity: 'error',
      comment: 'src/domain imports nothing else of ours: it is the vocabulary every layer stands on.',
      from: { path: '^src/domain/' },
      to: { path: '^(src|channels|workers|templates)/', pathNot: '^src/domain/' },
    },
    {
      name: 'channels-know-no-store-queue-or-environment',
      severity: 'error',
      comment:
        'A channel (channels/) may use src/domain, channels/shared and its own folder only: never BullMQ, the store, the queues, the config or a layer above. Pass what it needs in as a port from src/deps.ts.',
      from: { path: '^channels/' },
      to: { path: ['^src/', '^workers/', '^node_modules/(bullmq|ioredis|kysely)/'], pathNot: '^src/domain/' },
    },
    {
      name: 'store-stands-on-domain',
      severity: 'error',
      comment:
        'src/store may use src/domain only (and the shared logger and metrics): not the queues, channels, services or any layer above.',
      from: { path: '^src/store/' },
      to: {
        path: ['^src/', '^channels/', '^workers/'],
        pathNot: ['^src/(domain|store)/', '^src/(logger|metrics)\\.ts$'],
      },
    },
    {
      name: 'queue-stands-on-domain',
      severity: 'error',
      comment:
        'src/queue may use src/domain only (and the shared logger and metrics): not the store, channels, services or any layer above.',
      from: { path: '^src/queue/' },
      to: {
        path: ['^src/', '^channels/', '^workers/'],
        pathNot: ['^src/(domain|queue)/', '^src/(logger|metrics)\\.ts$'],
      },
    },
    {
      name: 'services-below-the-surfaces',
      severity: 'error',
      comment:
        'src/services may use src/domain, src/store, src/queue and channels: never HTTP (src/http, src/api, src/web, hono), BullMQ or workers. Raise a Refusal (src/domain) instead of an HTTP error.',
      from: { path: '^src/services/' },
      to: {
        path: [TOP, '^node_modules/(bullmq|hono|@hono)/'],
      },
    },
    {
      name: 'surfaces-are-not-below-each-other',
      severity: 'error',
      comment:
        'src/http is what every route shares: it may not use src/api, src/web, src/feeds or workers. src/api (JSON), src/web (HTML), src/feeds (CAP, Atom) and workers do not use each other; what two of them share belongs in src/http, src/services or src/domain.',
      from: { path: '^(workers|src/(http|api|web|feeds))/' },
      to: { path: TOP, pathNot: ['^$1/', '^src/http/'] },
    },
    {
      name: 'workers-use-no-http',
      severity: 'error',
      comment: 'workers run jobs: they may not use src/http (or any HTTP surface).',
      from: { path: '^workers/' },
      to: { path: '^src/http/' },
    },
    {
      name: 'nothing-imports-the-composition-root',
      severity: 'error',
      comment:
        'src/main.ts, src/deps.ts, src/app.ts, src/listen.ts and src/config.ts wire the layers together; domain, store, queue and channels do not import them, not even a type. Take the settings or dependencies you need as parameters, typed in the module that uses them.',
      from: { path: '^(src/(domain|store|queue)|channels)/' },
      to: { path: ROOT },
    },
    {
      name: 'the-top-names-the-root-types-only',
      severity: 'error',
      comment:
        "workers, src/http, src/api, src/web and src/feeds may name the wiring's types (`import type { Deps }`, `import type { Config }`) but never import a value from src/main.ts, src/deps.ts, src/app.ts or src/config.ts: take it as a parameter.",
      from: { path: '^(workers|src/(services|http|api|web|feeds))/' },
      to: { path: ROOT, dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|data|test-artifacts)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      extensions: ['.ts', '.tsx', '.js', '.mjs'],
      // Packages' subpath exports (hono/jsx, csv-parse/sync): unresolved, an import of them would pass every rule unseen.
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
