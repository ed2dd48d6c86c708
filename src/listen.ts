import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { createApp, createServices } from './app.ts';
import type { Deps } from './deps.ts';
import { httpServerOptions } from './http/server-options.ts';
import type { Surface } from './http/surface.ts';
import type { Logger } from './logger.ts';

export interface Listener {
  surface: Surface;
  server: ServerType;
  /** The address it listens on, e.g. http://127.0.0.1:8081 (the port as bound, for PORT=0). */
  url: string;
}

/**
 * Starts the HTTP listeners: one for everything, or with ADMIN_PORT two: the public one on
 * HOST:PORT for residents, and the staff one on ADMIN_HOST:ADMIN_PORT. Resolves once all
 * listen; a port already taken rejects (and closes any that did start).
 */
export async function startListeners(deps: Deps, logger: Logger): Promise<Listener[]> {
  const { config } = deps;
  const wanted: { surface: Surface; port: number; host: string; base: string }[] = config.admin
    ? [
        { surface: 'public', port: config.port, host: config.host, base: config.publicBaseUrl },
        { surface: 'admin', port: config.admin.port, host: config.admin.host, base: config.consoleBaseUrl },
      ]
    : [{ surface: 'all', port: config.port, host: config.host, base: config.publicBaseUrl }];
  const started: Listener[] = [];
  // One set of services for both listeners: the public one's residents and the staff one's console share it.
  const services = createServices(deps);
  try {
    for (const w of wanted) {
      const app = createApp(deps, { surface: w.surface, services });
      const server = await new Promise<ServerType>((resolve, reject) => {
        const s = serve(
          {
            fetch: app.fetch,
            port: w.port,
            hostname: w.host,
            // Slow senders (headers or a body trickled in) are cut off, not held for Node's 300 s.
            serverOptions: httpServerOptions(deps.config.httpTimeouts),
          },
          () => resolve(s),
        );
        s.once('error', reject);
      });
      const port = (server.address() as AddressInfo).port;
      const url = `http://${w.host.includes(':') ? `[${w.host}]` : w.host}:${port}`;
      started.push({ surface: w.surface, server, url });
      logger.info({ url, surface: w.surface, public: w.base }, 'API listening');
    }
  } catch (err) {
    await Promise.all(started.map((l) => new Promise<void>((done) => l.server.close(() => done()))));
    throw err;
  }
  return started;
}
