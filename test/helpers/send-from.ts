import { request } from 'node:http';

export interface Sent {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  setCookie: string[];
  text: string;
}

export interface SendInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/**
 * One HTTP request over a real socket from a chosen local address (any of 127.0.0.0/8 on
 * Linux), so a test can be a reverse proxy on 127.0.0.1 and a client that connects
 * straight to the port on 127.0.0.2: fetch cannot pick its source address.
 */
export function sendFrom(localAddress: string, url: string, init: SendInit = {}): Promise<Sent> {
  const target = new URL(url);
  return new Promise<Sent>((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: init.method ?? 'GET',
        headers: init.headers,
        localAddress,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            setCookie: res.headers['set-cookie'] ?? [],
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/**
 * What consoleClient() drives, over real HTTP instead of in-process: fetch without following
 * redirects, as app.request answers. Give consoleClient the server's base as its origin.
 */
export const overHttp = {
  request: (input: string | URL | Request, init?: RequestInit) => fetch(input, { ...init, redirect: 'manual' }),
};
