import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_UNKNOWN_KEYS_NAMED } from '../../src/http/errors.ts';
import { type HttpApp, startHttpApp } from '../helpers/http-app.ts';
import { sendFrom } from '../helpers/send-from.ts';

/**
 * What anyone can send without a token must cost little and be answered briefly: public
 * bodies are capped at 16 KiB, counted per client before they are parsed, and an error
 * names at most 20 unknown keys. Over real HTTP, through a trusted proxy on 127.0.0.1 so
 * that each test is a client of its own.
 */

const ROUTES = ['/v1/public/subscriptions', '/push/subscriptions', '/push/subscriptions/current'];

/** A JSON object of n unknown keys (base-36 numbers after the prefix: 105,000 of them come to 1 MB with one letter). */
function unknownKeys(n: number, prefix = ''): string {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(`"${prefix}${i.toString(36)}":0`);
  return `{${parts.join(',')}}`;
}

interface ErrorJson {
  error: { code: string; message: string; message_en: string; fields?: Record<string, string[]> };
}

describe('public bodies', () => {
  let hibiki: HttpApp;

  beforeAll(async () => {
    hibiki = await startHttpApp({
      workers: false,
      env: { CHANNELS: 'mail,cap,webpush', TRUSTED_PROXIES: '127.0.0.1', PUBLIC_POST_LIMIT_PER_CLIENT: '3' },
    });
  });
  afterAll(async () => {
    await hibiki?.close();
  });

  const post = (path: string, client: string, body: string) =>
    fetch(`${hibiki.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
      body,
    });

  it('a 1 MB object of 105,000 unknown keys is refused 413, unparsed, with a short bilingual answer', async () => {
    const body = unknownKeys(105_000, 'a');
    expect(body.length).toBeGreaterThan(1_000_000);
    expect(body.length).toBeLessThan(1024 * 1024);
    for (const path of ROUTES) {
      // A connection each, as a flood's requests would come: the server closes one it answered early.
      const res = await sendFrom('127.0.0.1', `${hibiki.base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.1' },
        body,
      });
      expect(res.status, path).toBe(413);
      const text = res.text;
      expect(text.length, path).toBeLessThan(1_000);
      const json = JSON.parse(text) as ErrorJson;
      expect(json.error.code).toBe('payload_too_large');
      expect(json.error.message).toContain('16 KiB');
      expect(json.error.message_en).toContain('16 KiB');
    }
  });

  it('a 15 KiB object of unknown keys gets an error naming at most 20 of them, and counting the rest', async () => {
    const body = unknownKeys(1_800, 'k');
    expect(body.length).toBeGreaterThan(14 * 1024);
    expect(body.length).toBeLessThan(16 * 1024);
    for (const path of ROUTES) {
      const res = await post(path, '198.51.100.2', body);
      expect(res.status, path).toBe(400);
      const text = await res.text();
      expect(text.length, path).toBeLessThan(4_000);
      const json = JSON.parse(text) as ErrorJson;
      const named = Object.keys(json.error.fields ?? {}).filter((k) => k.startsWith('k') && k !== 'keys');
      expect(named.length, path).toBeLessThanOrEqual(MAX_UNKNOWN_KEYS_NAMED);
      expect(named.length, path).toBeGreaterThan(0);
      expect(json.error.message).toMatch(/ほか \d+ 個/);
      expect(json.error.message_en).toMatch(/and \d+ more/);
    }
  });

  it('a body of many bad array items is answered with at most 20 reasons for the field', async () => {
    // 100 areas is the most sign-up takes; each one of the wrong type is an issue of its own.
    const body = JSON.stringify({ email: 'a@example.jp', areas: Array.from({ length: 100 }, () => 1) });
    const res = await post('/v1/public/subscriptions', '198.51.100.3', body);
    expect(res.status).toBe(400);
    const json = (await res.json()) as ErrorJson;
    expect(json.error.fields?.areas).toHaveLength(21);
    expect(json.error.fields?.areas?.at(-1)).toBe('ほかに 80 件の誤りがあります');
  });

  it('sign-up and push subscription are counted per client before the body is parsed: bad bodies too', async () => {
    for (const [i, path] of ['/v1/public/subscriptions', '/push/subscriptions'].entries()) {
      const client = `198.51.100.${10 + i}`;
      const statuses: number[] = [];
      for (let n = 0; n < 4; n++) statuses.push((await post(path, client, '{"nope":1}')).status);
      expect(statuses, path).toEqual([400, 400, 400, 429]);
    }
  });
});
