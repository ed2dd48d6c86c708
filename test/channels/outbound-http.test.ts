import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cidrProblem, createAddressPolicy, hostRefusal } from '../../channels/shared/address-policy.ts';
import { describeOutboundFailure } from '../../channels/shared/network-failure.ts';
import { createOutboundHttp, OutboundRefusedError } from '../../channels/shared/outbound-http.ts';

describe('address policy', () => {
  const strict = createAddressPolicy();

  it('refuses every internal range, in IPv4, IPv6, IPv4-mapped and NAT64 form', () => {
    const refused: Record<string, string> = {
      '127.0.0.1': 'loopback',
      '127.255.0.9': 'loopback',
      '::1': 'loopback',
      '::ffff:127.0.0.1': 'loopback',
      '::ffff:7f00:1': 'loopback',
      '64:ff9b::7f00:1': 'loopback',
      '0.0.0.0': 'unspecified',
      '::': 'unspecified',
      '10.1.2.3': 'private',
      '172.16.0.1': 'private',
      '172.31.255.255': 'private',
      '192.168.0.1': 'private',
      'fc00::1': 'private',
      'fd12:3456::1': 'private',
      '::ffff:10.0.0.1': 'private',
      '169.254.1.1': 'link-local',
      'fe80::1': 'link-local',
      '100.64.0.1': 'shared (CGNAT)',
      '100.127.255.255': 'shared (CGNAT)',
      '224.0.0.1': 'multicast',
      '239.255.255.250': 'multicast',
      'ff02::1': 'multicast',
      '169.254.169.254': 'cloud metadata',
      '::ffff:169.254.169.254': 'cloud metadata',
      'fd00:ec2::254': 'cloud metadata',
      '255.255.255.255': 'reserved',
      '::7f00:1': 'reserved',
      '2002:7f00:1::1': 'reserved',
      'not-an-address': 'reserved',
    };
    for (const [address, kind] of Object.entries(refused)) expect(strict.refusal(address), address).toBe(kind);
  });

  it('lets public addresses through, including their IPv4-mapped and NAT64 forms', () => {
    for (const address of [
      '8.8.8.8',
      '1.1.1.1',
      '172.32.0.1',
      '100.128.0.1',
      '2606:4700:4700::1111',
      '::ffff:8.8.8.8',
      '64:ff9b::8.8.8.8',
    ]) {
      expect(strict.refusal(address), address).toBeUndefined();
    }
  });

  it('lets OUTBOUND_ALLOW name internal addresses and ranges, and no more than those', () => {
    const policy = createAddressPolicy(['10.20.0.0/16', '127.0.0.1', 'fd12:3456::/48']);
    expect(policy.refusal('10.20.3.4')).toBeUndefined();
    expect(policy.refusal('::ffff:10.20.3.4')).toBeUndefined();
    expect(policy.refusal('127.0.0.1')).toBeUndefined();
    expect(policy.refusal('fd12:3456:0:1::5')).toBeUndefined();
    expect(policy.refusal('10.21.0.1')).toBe('private');
    expect(policy.refusal('127.0.0.2')).toBe('loopback');
    expect(policy.refusal('169.254.169.254')).toBe('cloud metadata');
  });

  it('reads OUTBOUND_ALLOW entries with node:net, refusing what it would not read the same way', () => {
    for (const ok of ['10.0.0.0/8', '192.0.2.7', '::1/128', 'fd00::/8', '0.0.0.0/0'])
      expect(cidrProblem(ok), ok).toBe(undefined);
    for (const bad of [
      '10.0.0.0/33',
      '::/129',
      '2130706433',
      '0x7f.0.0.1',
      '127.1',
      'intranet.local',
      '10.0.0.0/8/8',
      '10.0.0.0/x',
    ]) {
      expect(cidrProblem(bad), bad).toBeDefined();
    }
    expect(() => createAddressPolicy(['127.1'])).toThrow(/OUTBOUND_ALLOW: 127\.1/);
  });

  it('checks a URL host as WHATWG URL normalised it, and localhost by name', () => {
    for (const host of ['2130706433', '0177.0.0.1', '0x7f.0.0.1', '127.1', '[::ffff:127.0.0.1]', '[::1]', '0.0.0.0']) {
      expect(hostRefusal(new URL(`https://${host}/`).hostname, strict), host).toBeDefined();
    }
    for (const host of ['localhost', 'LOCALHOST.', 'api.localhost'])
      expect(hostRefusal(host, strict), host).toBe('loopback');
    expect(hostRefusal('hooks.city.example.jp', strict)).toBeUndefined();
  });
});

describe('outbound HTTP layer', () => {
  let server: Server;
  let origin: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('x'.repeat(1024 * 1024));
      } else if (req.url === '/never') {
        // Read and never answered: a provider that hangs.
        req.resume();
      } else if (req.url === '/empty') {
        res.writeHead(204).end();
      } else {
        res.writeHead(201, { 'x-request-id': 'r-1', 'set-cookie': ['a=1', 'b=2'] }).end('made');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('answers with a fetch Response, reading a long body only up to its cap', async () => {
    const outbound = createOutboundHttp({ allow: ['127.0.0.1/32'] });
    try {
      const made = await outbound.fetch(`${origin}/`, { method: 'POST', body: '{}' });
      expect(made.status).toBe(201);
      expect(made.headers.get('x-request-id')).toBe('r-1');
      expect(await made.text()).toBe('made');
      expect((await outbound.fetch(`${origin}/empty`)).status).toBe(204);
      const big = await outbound.fetch(`${origin}/big`, { maxBodyBytes: 1_000 });
      expect(big.status).toBe(200);
      expect((await big.text()).length).toBe(1_000);
    } finally {
      outbound.close();
    }
  });

  it('refuses a loopback receiver without OUTBOUND_ALLOW, before connecting', async () => {
    const outbound = createOutboundHttp();
    try {
      const err = await outbound.fetch(`${origin}/`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OutboundRefusedError);
      expect(describeOutboundFailure(err, '127.0.0.1').reason).toMatch(
        /^宛先は内部アドレス（ループバック）のため送信しません \/ address not allowed: 127\.0\.0\.1 is a loopback address/,
      );
    } finally {
      outbound.close();
    }
  });
  it('gives up on a receiver that never answers at timeoutMs, however often memory is collected meanwhile', async () => {
    // A garbage collection took AbortSignal.timeout away inside AbortSignal.any (nodejs/node#57736),
    // and a batch then waited for ever on a push service that had stopped answering.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const outbound = createOutboundHttp({ allow: ['127.0.0.1/32'] });
    const parent = new AbortController();
    try {
      const started = Date.now();
      const sent = outbound
        .fetch(`${origin}/never`, { method: 'POST', body: '{}', timeoutMs: 300, signal: parent.signal })
        .then(
          () => 'answered',
          (err: { name?: string }) => err.name,
        );
      let outcome: string | undefined;
      void sent.then((o) => {
        outcome = o;
      });
      while (outcome === undefined && Date.now() - started < 3_000) {
        gc();
        await sleep(20);
      }
      // node:http ends an aborted request with an AbortError, whatever the signal's reason.
      expect(outcome, 'the request ended by its time limit, not left waiting').toBe('AbortError');
      expect(parent.signal.aborted).toBe(false);
    } finally {
      outbound.close();
    }
  });
});
