import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { type AddressPolicy, bareHost, createAddressPolicy, hostRefusal, type InternalKind } from './address-policy.ts';
import { deadline } from './deadline.ts';

/**
 * The one way a channel sends HTTP. Every connection it opens is checked against the
 * address policy at connect time, on the address the name resolved to for that very
 * connection: a name that answers with a public address when an endpoint is stored and
 * with 127.0.0.1 when it is used (DNS rebinding) is still refused, and nothing checked
 * here is parsed again by another URL parser before the socket is opened.
 */
export interface OutboundHttp {
  readonly policy: AddressPolicy;
  /** Sends one request; redirects are never followed. Rejects with OutboundRefusedError for a refused address. */
  fetch(url: string, init?: OutboundInit): Promise<Response>;
  /** Puts the policy on an agent of the caller's (one that trusts a private CA, say) and returns it. */
  guard<A extends http.Agent>(agent: A): A;
  /** Closes the keep-alive connections of the layer's own agents. */
  close(): void;
}

export interface OutboundInit {
  method?: string;
  headers?: Record<string, string | number | readonly string[]>;
  body?: string | Uint8Array | null;
  /** Accepted for fetch compatibility: a redirect is never followed, whatever this says. */
  redirect?: 'manual';
  signal?: AbortSignal;
  /** Whole request, from connecting to the end of the headers; the signal still covers the body. */
  timeoutMs?: number;
  /** An agent of the caller's, guarded here; the layer's own keep-alive agent when absent. */
  agent?: http.Agent;
  /**
   * The answer's body is read whole (so its connection can be kept alive) up to this many
   * bytes; past that the connection is closed and the Response holds what was read.
   * Default 64 KiB.
   */
  maxBodyBytes?: number;
}

export interface OutboundOptions {
  /** OUTBOUND_ALLOW: addresses or CIDRs that may be reached although internal. */
  allow?: readonly string[];
  /** Sockets per host for the layer's own agents; default 64. */
  maxSockets?: number;
  /** Resolves a name to every address it has (default: dns.lookup, as net.connect does); tests replay DNS rebinding with it. */
  resolve?: Resolve;
}

export type Resolve = (hostname: string, family: number | undefined) => Promise<LookupAddress[]>;

const systemResolve: Resolve = (hostname, family) =>
  new Promise((resolve, reject) => {
    const options: LookupAllOptions = { all: true, ...(family ? { family } : {}) };
    dnsLookup(hostname, options, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/** The connection was not made because the address is internal and OUTBOUND_ALLOW does not name it. */
export class OutboundRefusedError extends Error {
  override name = 'OutboundRefusedError';
  readonly code = 'EHIBIKI_ADDRESS_REFUSED';
  readonly kind: InternalKind;
  readonly host: string;
  /** The refused address; for operators' logs only, never for a reason staff read. */
  readonly address: string | undefined;

  constructor(host: string, kind: InternalKind, address?: string) {
    super(`${host}: ${address ?? host} is a ${kind} address and OUTBOUND_ALLOW does not name it`);
    this.host = host;
    this.kind = kind;
    this.address = address;
  }
}

const GUARDED = Symbol('hibiki.outbound.guarded');

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dns.lookup that answers only with addresses the policy allows, for net.connect and tls.connect. */
export function guardedLookup(policy: AddressPolicy, resolve: Resolve = systemResolve) {
  return (hostname: string, options: LookupOptions | number | LookupCallback, callback?: LookupCallback): void => {
    const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
    const opts: LookupOptions =
      typeof options === 'function' ? {} : typeof options === 'number' ? { family: options } : options;
    const family = typeof opts.family === 'number' ? opts.family : undefined;
    resolve(hostname, family === 4 || family === 6 ? family : undefined).then(
      (addresses) => answer(null, addresses),
      (err: NodeJS.ErrnoException) => answer(err, []),
    );
    function answer(err: NodeJS.ErrnoException | null, addresses: LookupAddress[]): void {
      const none = opts.all ? [] : '';
      // One refused address refuses the name: a name that points into the city's network
      // at all is not a receiver, whichever of its addresses a connection would pick.
      const refused = addresses.find(({ address }) => policy.refusal(address) !== undefined);
      const first = addresses[0];
      if (err) cb(err, none);
      else if (refused) {
        cb(new OutboundRefusedError(hostname, policy.refusal(refused.address) ?? 'reserved', refused.address), none);
      } else if (!first) cb(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), none);
      else if (opts.all) cb(null, addresses);
      else cb(null, first.address, first.family);
    }
  };
}

/**
 * Puts the policy on an agent: an IP literal is checked before connecting (net.connect
 * never looks those up), a name through guardedLookup. The agent keeps its own TLS
 * options and keep-alive pool.
 */
export function guardAgent<A extends http.Agent>(agent: A, policy: AddressPolicy, resolve?: Resolve): A {
  const marked = agent as A & { [GUARDED]?: AddressPolicy };
  const already = marked[GUARDED];
  // Two channels may share an agent when their policies allow the same; never a laxer one by stealth.
  if (already && already.allowed.join(',') === policy.allowed.join(',')) return agent;
  if (already) throw new Error('this agent already carries another outbound address policy');
  const lookup = guardedLookup(policy, resolve);
  type Create = (options: Record<string, unknown>, cb: (err: Error | null, socket?: unknown) => void) => unknown;
  const withCreate = agent as unknown as { createConnection: Create };
  const original = withCreate.createConnection.bind(agent);
  withCreate.createConnection = (options, cb) => {
    const host = bareHost(String(options.host ?? options.hostname ?? 'localhost'));
    if (isIP(host) !== 0) {
      const kind = policy.refusal(host);
      if (kind) {
        cb(new OutboundRefusedError(host, kind, host));
        return undefined;
      }
    }
    return original({ ...options, lookup }, cb);
  };
  marked[GUARDED] = policy;
  return agent;
}

const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

/** Statuses whose Response may carry no body (the fetch standard's null body statuses). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export function createOutboundHttp(options: OutboundOptions = {}): OutboundHttp {
  const policy = createAddressPolicy(options.allow ?? []);
  const maxSockets = options.maxSockets ?? 64;
  const own = {
    http: guardAgent(new http.Agent({ keepAlive: true, maxSockets }), policy, options.resolve),
    https: guardAgent(new https.Agent({ keepAlive: true, maxSockets }), policy, options.resolve),
  };

  function send(url: string, init: OutboundInit = {}): Promise<Response> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return Promise.reject(Object.assign(new Error('not a valid URL'), { code: 'ERR_INVALID_URL' }));
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:') {
      return Promise.reject(Object.assign(new Error(`${target.protocol} is not http(s)`), { code: 'ERR_INVALID_URL' }));
    }
    // The host that was checked is the host that is connected to: the request is made from
    // this one WHATWG URL, never re-parsed.
    const literal = hostRefusal(target.hostname, policy);
    if (literal) return Promise.reject(new OutboundRefusedError(target.host, literal));
    const secure = target.protocol === 'https:';
    const maxBody = init.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const agent = init.agent ? guardAgent(init.agent, policy, options.resolve) : secure ? own.https : own.http;
    const limit = init.timeoutMs === undefined ? undefined : deadline(init.timeoutMs, init.signal);
    const signal = limit?.signal ?? init.signal;

    const answered = new Promise<Response>((resolve, reject) => {
      const request = (secure ? https : http).request(
        {
          protocol: target.protocol,
          hostname: bareHost(target.hostname),
          port: target.port || undefined,
          path: `${target.pathname}${target.search}`,
          method: init.method ?? 'GET',
          headers: init.headers as http.OutgoingHttpHeaders | undefined,
          agent,
          signal,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value === undefined) continue;
            for (const v of Array.isArray(value) ? value : [value]) {
              try {
                headers.append(name, v);
              } catch {
                // A header fetch's Headers will not hold is one no channel needs: leave it out.
              }
            }
          }
          if (status < 200 || status > 599) {
            res.destroy();
            reject(Object.assign(new Error(`unexpected HTTP status ${status}`), { code: 'EHIBIKI_BAD_STATUS' }));
            return;
          }
          const answer = (body: Buffer | null) =>
            resolve(
              // No statusText: a receiver's reason phrase is its words, which no reason repeats.
              new Response(body as unknown as BodyInit | null, { status, headers }),
            );
          if (NULL_BODY.has(status) || init.method === 'HEAD') {
            res.resume();
            answer(null);
            return;
          }
          // Read to the end, so the socket goes back to the keep-alive pool; an answer that
          // goes on and on is cut off instead of being read for ever.
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            if (size >= maxBody) return;
            chunks.push(chunk);
            size += chunk.byteLength;
            if (size >= maxBody) {
              res.destroy();
              answer(Buffer.concat(chunks).subarray(0, maxBody));
            }
          });
          res.on('end', () => answer(Buffer.concat(chunks)));
          res.on('error', reject);
          // Closed before its end (and not by the cut-off above, which has answered already).
          res.on('close', () => {
            if (!res.complete) reject(Object.assign(new Error('the answer was cut off'), { code: 'ECONNRESET' }));
          });
        },
      );
      request.on('error', reject);
      request.end(init.body ?? undefined);
    });
    return limit ? answered.finally(() => limit.clear()) : answered;
  }

  return {
    policy,
    fetch: send,
    guard: (agent) => guardAgent(agent, policy, options.resolve),
    close() {
      own.http.destroy();
      own.https.destroy();
    },
  };
}
