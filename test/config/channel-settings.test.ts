import { describe, expect, it } from 'vitest';
import { CATALOG, CHANNEL_WORD } from '../../channels/catalog.ts';
import { isSecret } from '../../channels/plugin.ts';
import { loadConfig, SECRET_SETTINGS } from '../../src/config.ts';
import { CHANNEL_IDS } from '../../src/domain/notice.ts';
import { configErrorOf } from '../helpers/config-error.ts';

/** Each channel's settings come from its plug-in in channels/catalog.ts, read by loadConfig alone. */
describe('channel settings from the catalogue', () => {
  it('lists every channel of the domain once, with its name in both languages', () => {
    expect(CATALOG.map((p) => p.id).sort()).toEqual([...CHANNEL_IDS].sort());
    for (const id of CHANNEL_IDS) expect(CHANNEL_WORD[id].ja && CHANNEL_WORD[id].en).toBeTruthy();
  });

  it('keeps every default under each channel’s id', () => {
    const config = loadConfig({});
    expect(config.mail).toEqual({ batch: 100, connections: 8, unsubscribeMailto: undefined });
    expect(config.cap).toEqual({ sender: 'hibiki@localhost' });
    expect(config.x).toEqual({
      oauth1: undefined,
      oauth2Token: undefined,
      baseUrl: 'https://api.x.com',
      longText: 'thread',
      threadMax: 4,
    });
    expect(config.line).toEqual({
      channelAccessToken: undefined,
      channelSecret: undefined,
      baseUrl: 'https://api.line.me',
      emergencyBroadcast: false,
      defaultTopics: ['disaster', 'shelter'],
    });
    expect(config.webhook).toEqual({ timeoutMs: 5_000, allowHttpLoopback: false });
    expect(config.webpush).toEqual({
      vapid: undefined,
      subject: 'mailto:hibiki@localhost',
      ttlSeconds: 86_400,
      extraHosts: [],
    });
    expect(loadConfig({ PUBLIC_BASE_URL: 'https://bousai.example.jp/' }).webpush.subject).toBe(
      'https://bousai.example.jp',
    );
  });

  it('names the missing credentials of an enabled channel, as before', () => {
    expect(configErrorOf({ CHANNELS: 'x', X_API_KEY: 'k' })).toBe(
      'X_API_SECRET: CHANNELS includes x: set X_API_SECRET, X_ACCESS_TOKEN, X_ACCESS_SECRET (OAuth 1.0a user context) or X_OAUTH2_TOKEN',
    );
    expect(loadConfig({ CHANNELS: 'x', X_OAUTH2_TOKEN: 't' }).x.oauth2Token).toBe('t');
    expect(configErrorOf({ CHANNELS: 'mail,line', LINE_CHANNEL_SECRET: 's' })).toBe(
      'LINE_CHANNEL_ACCESS_TOKEN: CHANNELS includes line: required',
    );
    // Credentials of a channel not enabled are nobody's business.
    expect(() => loadConfig({ CHANNELS: 'mail' })).not.toThrow();
    expect(configErrorOf({ VAPID_PUBLIC_KEY: 'B'.repeat(87) })).toBe(
      'VAPID_PRIVATE_KEY: set both VAPID keys, or neither (Hibiki then makes a pair once and keeps it in the store)',
    );
  });

  it('reads a channel’s own checks on values, never echoing a secret', () => {
    expect(configErrorOf({ CAP_SENDER: 'a b' })).toBe(
      'CAP_SENDER: no spaces, commas, < or & (CAP 1.2 sender) (got "a b")',
    );
    expect(configErrorOf({ VAPID_PRIVATE_KEY: 'not a key!' })).toMatch(
      /^VAPID_PRIVATE_KEY: a base64url P-256 private key$/m,
    );
  });

  it('knows the secrets the channels mark, and Hibiki’s own', () => {
    expect([...SECRET_SETTINGS].sort()).toEqual(
      [
        'HIBIKI_SECRET',
        'X_API_KEY',
        'X_API_SECRET',
        'X_ACCESS_TOKEN',
        'X_ACCESS_SECRET',
        'X_OAUTH2_TOKEN',
        'LINE_CHANNEL_ACCESS_TOKEN',
        'LINE_CHANNEL_SECRET',
        'VAPID_PRIVATE_KEY',
        'REDIS_SENTINEL_PASSWORD',
        'OIDC_CLIENT_SECRET',
      ].sort(),
    );
    const marked = CATALOG.flatMap((p) => Object.entries(p.env.shape).filter(([, s]) => isSecret(s as never)));
    expect(marked.map(([name]) => name)).toContain('LINE_CHANNEL_SECRET');
  });
});
