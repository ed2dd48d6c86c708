import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { configErrorOf } from '../helpers/config-error.ts';

/** DELIVERY_GIVE_UP_AFTER: how long deliveries wait out their provider being down. */
describe('DELIVERY_GIVE_UP_AFTER', () => {
  it('defaults to 24 hours', () => {
    expect(loadConfig({}).giveUpAfterMs).toBe(24 * 60 * 60_000);
  });

  it('takes a number with a unit s, m, h or d; a bare number is seconds', () => {
    const ms = (value: string) => loadConfig({ DELIVERY_GIVE_UP_AFTER: value }).giveUpAfterMs;
    expect(ms('24h')).toBe(24 * 60 * 60_000);
    expect(ms('90m')).toBe(90 * 60_000);
    expect(ms('30s')).toBe(30_000);
    expect(ms('2d')).toBe(2 * 24 * 60 * 60_000);
    expect(ms('3600')).toBe(60 * 60_000);
    expect(ms(' 6h ')).toBe(6 * 60 * 60_000);
  });

  it('refuses other forms and out-of-range values, naming the setting and the form it takes', () => {
    for (const value of ['1.5h', '2 h', '24H', 'forever', '-5m', '1w']) {
      expect(configErrorOf({ DELIVERY_GIVE_UP_AFTER: value })).toMatch(
        /^DELIVERY_GIVE_UP_AFTER: give a duration such as 24h, 90m or 30s/,
      );
    }
    expect(configErrorOf({ DELIVERY_GIVE_UP_AFTER: '0s' })).toMatch(/^DELIVERY_GIVE_UP_AFTER: between 1s and 30d/);
    expect(configErrorOf({ DELIVERY_GIVE_UP_AFTER: '31d' })).toMatch(/^DELIVERY_GIVE_UP_AFTER: between 1s and 30d/);
  });
});
