import { BlockList, isIP } from 'node:net';

/**
 * Which addresses Hibiki may open a connection to when it sends for a channel. Endpoints
 * come from staff (webhooks) and from anyone on the internet (push subscriptions), and the
 * server is inside the city's network: without this, an endpoint can make Hibiki reach the
 * city's own machines, the host itself or a cloud metadata service (SSRF). The ranges are
 * matched with node:net's BlockList, which also matches IPv4-mapped IPv6 forms
 * (::ffff:127.0.0.1) against IPv4 ranges.
 */
export type InternalKind =
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared (CGNAT)'
  | 'multicast'
  | 'unspecified'
  | 'cloud metadata'
  | 'reserved';

interface Range {
  network: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
  kind: InternalKind;
}

const v4 = (network: string, prefix: number, kind: InternalKind): Range => ({ network, prefix, family: 'ipv4', kind });
const v6 = (network: string, prefix: number, kind: InternalKind): Range => ({ network, prefix, family: 'ipv6', kind });

/** The IPv4 ranges no endpoint may reach; the first match names the kind, so the narrow ones come first. */
const DENIED_V4: Range[] = [
  v4('169.254.169.254', 32, 'cloud metadata'),
  v4('0.0.0.0', 8, 'unspecified'),
  v4('127.0.0.0', 8, 'loopback'),
  v4('10.0.0.0', 8, 'private'),
  v4('172.16.0.0', 12, 'private'),
  v4('192.168.0.0', 16, 'private'),
  v4('169.254.0.0', 16, 'link-local'),
  v4('100.64.0.0', 10, 'shared (CGNAT)'),
  v4('224.0.0.0', 4, 'multicast'),
  // IETF protocol assignments (some clouds' metadata live here), documentation, benchmarking,
  // 240/4 and the broadcast address: nothing a receiver is ever at.
  v4('192.0.0.0', 24, 'reserved'),
  v4('192.0.2.0', 24, 'reserved'),
  v4('198.18.0.0', 15, 'reserved'),
  v4('198.51.100.0', 24, 'reserved'),
  v4('203.0.113.0', 24, 'reserved'),
  v4('240.0.0.0', 4, 'reserved'),
];

const DENIED_V6: Range[] = [
  v6('fd00:ec2::254', 128, 'cloud metadata'),
  v6('::', 128, 'unspecified'),
  v6('::1', 128, 'loopback'),
  v6('fc00::', 7, 'private'),
  v6('fe80::', 10, 'link-local'),
  v6('fec0::', 10, 'private'),
  v6('ff00::', 8, 'multicast'),
  // IPv4-compatible (::a.b.c.d, deprecated), discard-only, Teredo, documentation and 6to4
  // (deprecated): each can carry or reach an IPv4 address the list above refuses.
  v6('::', 96, 'reserved'),
  v6('100::', 64, 'reserved'),
  v6('2001::', 32, 'reserved'),
  v6('2001:db8::', 32, 'reserved'),
  v6('2002::', 16, 'reserved'),
  v6('64:ff9b:1::', 48, 'reserved'),
  // NAT64 (64:ff9b::a.b.c.d) is how an IPv6-only host reaches IPv4 sites: refuse only the
  // translated forms of the IPv4 ranges above.
  ...DENIED_V4.map((r) => v6(`64:ff9b::${r.network}`, 96 + r.prefix, r.kind)),
];

const DENIED: Range[] = [...DENIED_V4, ...DENIED_V6];

export interface AddressPolicy {
  /** Why this IP address may not be connected to (its kind), or undefined when it may. */
  refusal(address: string): InternalKind | undefined;
  /** The OUTBOUND_ALLOW ranges, as given. */
  readonly allowed: readonly string[];
}

/**
 * Why an OUTBOUND_ALLOW entry is unusable, or undefined when it is an address or
 * address/prefix that node:net reads the same way the policy will.
 */
export function cidrProblem(entry: string): string | undefined {
  const [address = '', prefix, extra] = entry.split('/');
  if (extra !== undefined) return `${entry}: one address and one /prefix at most`;
  const family = isIP(address);
  if (family === 0) return `${entry}: not an IPv4 or IPv6 address (write e.g. 10.20.0.0/16 or fd12:3456::/48)`;
  if (prefix === undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return `${entry}: the prefix must be 0–${max}`;
  return undefined;
}

function toBlockList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const problem = cidrProblem(entry);
    if (problem) throw new Error(`OUTBOUND_ALLOW: ${problem}`);
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    list.addSubnet(address, prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix), family);
  }
  return list;
}

const deniedLists = DENIED.map((range) => {
  const list = new BlockList();
  list.addSubnet(range.network, range.prefix, range.family);
  return { list, kind: range.kind };
});

/** `allow`: OUTBOUND_ALLOW, addresses or CIDRs that may be reached although internal (a city's intranet receiver). */
export function createAddressPolicy(allow: readonly string[] = []): AddressPolicy {
  const allowList = toBlockList(allow);
  return {
    allowed: [...allow],
    refusal(address) {
      const family = isIP(address);
      // Not an address at all: nothing to connect to, so nothing is allowed.
      if (family === 0) return 'reserved';
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (allowList.check(address, type)) return undefined;
      return deniedLists.find((d) => d.list.check(address, type))?.kind;
    },
  };
}

/** A URL's hostname without the brackets WHATWG URL keeps around an IPv6 literal. */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/**
 * What can be told of a URL's host before any lookup: an IP literal that the policy
 * refuses (WHATWG URL has already turned 2130706433, 0177.0.0.1, 0x7f.0.0.1 and 127.1
 * into 127.0.0.1), or a name that is loopback by definition (RFC 6761 localhost). Names
 * are checked again, as the addresses they resolve to, when the connection is made.
 */
export function hostRefusal(hostname: string, policy: AddressPolicy): InternalKind | undefined {
  const host = bareHost(hostname.toLowerCase()).replace(/\.$/, '');
  if (isIP(host) !== 0) return policy.refusal(host);
  if (host === 'localhost' || host.endsWith('.localhost')) {
    // It resolves to both on most systems, and one refused address refuses a name.
    return policy.refusal('127.0.0.1') ?? policy.refusal('::1');
  }
  return undefined;
}
