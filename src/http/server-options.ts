import type { ServerOptions } from 'node:http';
import type { Config } from '../config.ts';

/**
 * node:http's limits on receiving a request (HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS).
 * Node's own defaults held a body trickled a byte at a time for 300 s, so a few hundred
 * slow clients could hold every connection the process takes. The timeouts cover only
 * what the client sends: a progress stream's long answer is not cut.
 */
export function httpServerOptions(timeouts: Config['httpTimeouts']): ServerOptions {
  return {
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    // Node checks both every 30 s by default, which would let a 10 s limit hold for 40 s.
    connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.round(timeouts.headersMs / 4))),
  };
}
