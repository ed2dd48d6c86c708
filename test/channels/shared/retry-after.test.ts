import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../../channels/shared/retry-after.ts';

const now = new Date('2026-12-07T09:00:00Z');

describe('retryAfterMs', () => {
  it('reads delay-seconds', () => {
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs(' 0 ', now)).toBe(0);
  });

  it('reads an HTTP date, from the given now (a Date or epoch ms)', () => {
    expect(retryAfterMs('Mon, 07 Dec 2026 09:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Mon, 07 Dec 2026 09:01:00 GMT', now.getTime())).toBe(60_000);
  });

  it('takes a date already past as no wait', () => {
    expect(retryAfterMs('Mon, 07 Dec 2026 08:00:00 GMT', now)).toBe(0);
  });

  it('gives undefined for a missing or unreadable header', () => {
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(retryAfterMs('', now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs('-5', now)).toBeUndefined();
    expect(retryAfterMs('1.5', now)).toBeUndefined();
    expect(retryAfterMs('Sunday', now)).toBeUndefined();
  });

  it('caps the wait when asked, and not otherwise', () => {
    expect(retryAfterMs('86400000', now, 60 * 60 * 1000)).toBe(60 * 60 * 1000);
    expect(retryAfterMs('Tue, 08 Dec 2026 09:00:00 GMT', now, 60_000)).toBe(60_000);
    expect(retryAfterMs('86400', now)).toBe(86_400_000);
  });
});
