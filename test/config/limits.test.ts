import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { configErrorOf } from '../helpers/config-error.ts';

describe('TRUSTED_PROXIES', () => {
  it('is empty by default: no X-Forwarded-For is believed', () => {
    expect(loadConfig({}).trustedProxies).toEqual([]);
  });

  it('takes addresses and CIDRs of both families, comma-separated', () => {
    expect(loadConfig({ TRUSTED_PROXIES: ' 172.28.0.80, 10.0.0.0/8,fd00::/8 ,::1' }).trustedProxies).toEqual([
      '172.28.0.80',
      '10.0.0.0/8',
      'fd00::/8',
      '::1',
    ]);
  });

  it('refuses a name, a port or a prefix too long for its family, naming the variable', () => {
    for (const bad of ['nginx', '10.0.0.5:80', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/8/8']) {
      expect(configErrorOf({ TRUSTED_PROXIES: bad })).toMatch(/^TRUSTED_PROXIES: IP addresses or CIDRs/);
    }
  });
});

describe('the HTTP timeouts', () => {
  it('default to 10 s for the headers and 30 s for a whole request', () => {
    const config = loadConfig({});
    expect(config.httpTimeouts).toEqual({ headersMs: 10_000, requestMs: 30_000 });
  });

  it('never wait longer for the headers than for the whole request (node:http refuses that)', () => {
    expect(loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '2000' }).httpTimeouts).toEqual({
      headersMs: 2_000,
      requestMs: 2_000,
    });
  });
});
