import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

/** Loopback and private networks: where a reverse proxy in front of Hibiki would connect from. */
const PROXY_NETWORK =
  /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|::1$|::ffff:(127|10)\.|::ffff:192\.168\.|f[cd][0-9a-f]{2}:)/i;

/**
 * The client's IP address, for per-client rate limits. The socket's peer, unless that
 * peer is on a loopback or private network (a reverse proxy): then the last address in
 * X-Forwarded-For, the one that proxy saw. Earlier entries are whatever the client
 * wrote and are never trusted. Requests made in-process (tests) have no socket.
 */
export function clientAddress(c: Context): string {
  let peer: string | undefined;
  try {
    peer = getConnInfo(c).remote.address;
  } catch {
    peer = undefined;
  }
  if (peer === undefined || PROXY_NETWORK.test(peer)) {
    const forwarded = c.req.header('x-forwarded-for');
    const last = forwarded
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .at(-1);
    if (last && last.length <= 64) return last;
  }
  return peer ?? 'unknown';
}
