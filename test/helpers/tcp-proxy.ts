import { createConnection, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy of the test's own in front of a shared service (PostgreSQL), to cut the way
 * to it without touching the service: cut() destroys every open connection and refuses
 * new ones, restore() lets them through again.
 */
export interface TcpProxy {
  port: number;
  /** Connections accepted and passed through so far. */
  readonly connections: number;
  /** Connections refused while cut. */
  readonly refused: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let cut = false;
  let connections = 0;
  let refused = 0;

  const server = createServer((client) => {
    if (cut) {
      refused++;
      // A reset, as a host that is down or a firewall answers, not a polite close.
      client.resetAndDestroy();
      return;
    }
    connections++;
    const upstream = createConnection(target);
    open.add(client);
    open.add(upstream);
    const drop = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    port,
    get connections() {
      return connections;
    },
    get refused() {
      return refused;
    },
    cut() {
      cut = true;
      for (const s of open) s.resetAndDestroy();
      open.clear();
    },
    restore() {
      cut = false;
    },
    async close() {
      cut = true;
      for (const s of open) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
