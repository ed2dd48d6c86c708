import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

/**
 * The baseline of the feed benchmark: a bare node:http server answering the same bytes
 * Hibiki answered (the feed's XML, each CAP file, their headers) from memory, with a 304
 * for a matching If-None-Match. It is what serving the feed costs with no framework, no
 * store and no work per request: the ceiling the service is measured against.
 *
 * node --import tsx bench/bare-feed-server.ts ROUTES.json  → prints "listening PORT"
 */

export interface BareRoute {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const routesFile = process.argv[2];
if (!routesFile) throw new Error('usage: bare-feed-server.ts ROUTES.json (path → {status, headers, body})');
const routes = new Map(
  Object.entries(JSON.parse(readFileSync(routesFile, 'utf8')) as Record<string, BareRoute>).map(([path, r]) => [
    path,
    { ...r, bytes: Buffer.from(r.body) },
  ]),
);

const server = createServer((req, res) => {
  const route = routes.get(req.url ?? '');
  if (!route) {
    res.writeHead(404).end();
    return;
  }
  const etag = route.headers.etag;
  if (etag !== undefined && req.headers['if-none-match'] === etag) {
    res.writeHead(304, { etag, 'cache-control': route.headers['cache-control'] ?? '' }).end();
    return;
  }
  res.writeHead(route.status, { ...route.headers, 'content-length': route.bytes.length }).end(route.bytes);
});
server.keepAliveTimeout = 10_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`listening ${typeof address === 'object' && address ? address.port : 0}`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
