import { BlockList, isIP } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';

/** An address or a CIDR, as TRUSTED_PROXIES lists them; undefined when it is neither. */
export function parseProxyEntry(
  entry: string,
): { address: string; prefix?: number; family: 'ipv4' | 'ipv6' } | undefined {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (slash < 0) return { address, family };
  const bits = entry.slice(slash + 1);
  const prefix = Number(bits);
  if (!/^\d{1,3}$/.test(bits) || prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address, prefix, family };
}

/** The socket's peer, or undefined for a request made in-process (app.request), which has no socket. */
function peerOf(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

/** One client, one key: an IPv4 peer on a dual-stack socket reads ::ffff:198.51.100.7. */
const plain = (address: string): string => (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address);

/**
 * The client's IP address, for per-client rate limits and lockouts, given the reverse
 * proxies trusted to say who their client was (TRUSTED_PROXIES: addresses or CIDRs).
 *
 * A peer that is not a trusted proxy is the client, whatever X-Forwarded-For it sends:
 * otherwise anyone who can reach the port picks their own address per request. From a
 * trusted proxy, X-Forwarded-For is read from the right (each proxy appends the address it
 * saw): the first entry that is not itself a trusted proxy is the client. An entry that is
 * not an IP address (`anything-7`) ends the walk, and the last trusted hop is the client:
 * what lies left of it was written by someone no proxy vouches for.
 *
 * A request made in-process (app.request: tests, an embedding) has no socket and never
 * came over the network; its X-Forwarded-For is read as if a trusted proxy had sent it.
 */
export function createClientAddress(trustedProxies: readonly string[]): (c: Context) => string {
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const parsed = parseProxyEntry(entry);
    if (!parsed) throw new Error(`not an IP address or CIDR: ${JSON.stringify(entry)}`);
    if (parsed.prefix === undefined) trusted.addAddress(parsed.address, parsed.family);
    else trusted.addSubnet(parsed.address, parsed.prefix, parsed.family);
  }
  const isTrusted = (address: string): boolean => {
    const version = isIP(address);
    return version !== 0 && trusted.check(address, version === 4 ? 'ipv4' : 'ipv6');
  };
  return (c) => {
    const peer = peerOf(c);
    if (peer !== undefined && !isTrusted(peer)) return plain(peer);
    const forwarded = c.req.header('x-forwarded-for');
    let client = peer;
    if (forwarded) {
      const entries = forwarded.split(',');
      for (let i = entries.length - 1; i >= 0; i--) {
        const entry = (entries[i] as string).trim();
        if (entry.length > 45 || isIP(entry) === 0) break;
        client = entry;
        if (!isTrusted(entry)) break;
      }
    }
    return client === undefined ? 'unknown' : plain(client);
  };
}

/** With no proxy trusted: the socket's peer (what a request outside createApp gets). */
const untrusting = createClientAddress([]);

/** Works out the client's address once per request, with the deployment's TRUSTED_PROXIES, for every route to read. */
export function clientAddressMiddleware(resolve: (c: Context) => string): MiddlewareHandler {
  return async (c, next) => {
    c.set('clientAddress', resolve(c));
    await next();
  };
}

/**
 * The client's IP address: as clientAddressMiddleware found it (createApp installs it with
 * TRUSTED_PROXIES), or, outside it, the socket's peer with no proxy trusted.
 */
export function clientAddress(c: Context): string {
  const known = c.get('clientAddress') as string | undefined;
  return known ?? untrusting(c);
}
