import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { createApp } from '../../src/app.ts';
import { type RunningWorkers, startWorkers } from '../../workers/index.ts';
import { createTestDeps, type TestDeps, type TestDepsOptions } from './deps.ts';

export interface HttpApp {
  /** e.g. http://127.0.0.1:41234: PUBLIC_BASE_URL, so the console's Origin check and every link agree with it. */
  base: string;
  deps: TestDeps;
  app: ReturnType<typeof createApp>;
  /** Present unless started with workers: false. */
  workers: RunningWorkers | undefined;
  /** Stops the server, the workers and the deps, in that order. */
  close(): Promise<void>;
}

export interface HttpAppOptions extends TestDepsOptions {
  /** Run the dispatch and delivery workers in this process too (default true), as `hibiki all` does. */
  workers?: boolean;
}

/**
 * The real app (createApp over createTestDeps) on a local port over real HTTP, with the
 * workers in-process: what a browser test drives. The port comes first, because the
 * deployment's PUBLIC_BASE_URL has to name it; until the app is ready the server says 503.
 */
export async function startHttpApp(options: HttpAppOptions = {}): Promise<HttpApp> {
  let app: ReturnType<typeof createApp> | undefined;
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve(
      {
        fetch: (req, env) => (app ? app.fetch(req, env) : new Response('starting', { status: 503 })),
        port: 0,
        hostname: '127.0.0.1',
      },
      () => resolve(s),
    );
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const closeServer = () =>
    new Promise<void>((resolve) => {
      // An open EventSource would keep close() waiting for ever.
      if ('closeAllConnections' in server) server.closeAllConnections();
      server.close(() => resolve());
    });
  let deps: TestDeps;
  try {
    deps = await createTestDeps({ ...options, env: { PUBLIC_BASE_URL: base, ...options.env } });
  } catch (err) {
    await closeServer();
    throw err;
  }
  app = createApp(deps);
  const workers = options.workers === false ? undefined : startWorkers(deps);
  return {
    base,
    deps,
    app,
    workers,
    async close() {
      await closeServer();
      await workers?.close();
      await deps.dispose();
    },
  };
}
