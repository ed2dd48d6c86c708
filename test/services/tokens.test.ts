import { describe, expect, it } from 'vitest';
import { checkTokenInput, nameKey, parseExpiresIn, parseExpiry } from '../../src/services/tokens.ts';

const NOW = new Date('2026-12-07T00:00:00Z');

describe('token input checks', () => {
  it('keeps a Japanese name with an ideographic space, and refuses what does not print', () => {
    expect(checkTokenInput({ name: ' 防災課\u3000山田 ', role: 'author' })).toEqual({
      input: { name: '防災課\u3000山田', role: 'author', expiresAt: null },
    });
    for (const bad of [
      'a\nb',
      'a\u0000b',
      'a\u007fb',
      'a\u0085b',
      'a\u202eb',
      'a\u200fb',
      'a\u00adb',
      'a\u2029b',
      'a\ue000b',
    ]) {
      const checked = checkTokenInput({ name: bad, role: 'author' });
      expect('errors' in checked && Object.keys(checked.errors), JSON.stringify(bad)).toEqual(['name']);
    }
  });

  it('compares names as people read them: case, width and runs of spaces aside', () => {
    expect(nameKey('防災課\u3000ＹＡＭＡＤＡ')).toBe(nameKey('防災課 yamada'));
    expect(nameKey('防災課  Yamada')).toBe(nameKey('防災課 yamada'));
    expect(nameKey('防災課 山田')).not.toBe(nameKey('防災課 山本'));
  });

  it('reads --expires-in as days, hours or weeks, and nothing else', () => {
    expect(parseExpiresIn('90d', NOW)).toEqual(new Date('2027-03-07T00:00:00Z'));
    expect(parseExpiresIn('12h', NOW)).toEqual(new Date('2026-12-07T12:00:00Z'));
    expect(parseExpiresIn('2w', NOW)).toEqual(new Date('2026-12-21T00:00:00Z'));
    for (const bad of ['90', '0d', '-1d', '1.5d', '90x', 'd', '100000d'])
      expect(parseExpiresIn(bad, NOW), bad).toBeUndefined();
  });

  it('takes an expiry as an ISO date or time in the future, and refuses the past or a non-date', () => {
    expect(checkTokenInput({ name: 'x', role: 'author', expiresAt: '2027-03-31' }, NOW)).toEqual({
      input: { name: 'x', role: 'author', expiresAt: new Date('2027-03-31T00:00:00Z') },
    });
    expect(parseExpiry('2027-03-31T17:00:00+09:00')).toEqual(new Date('2027-03-31T08:00:00Z'));
    for (const bad of ['2020-01-01', 'tomorrow', '2027-02-30', 12]) {
      const checked = checkTokenInput({ name: 'x', role: 'author', expiresAt: bad }, NOW);
      expect('errors' in checked && Object.keys(checked.errors), String(bad)).toEqual(['expiresAt']);
    }
  });
});
