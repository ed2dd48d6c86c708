import { describe, expect, it } from 'vitest';
import { mailboxKey, mailDomainOf } from '../../src/domain/mailbox.ts';

describe('mailboxKey', () => {
  it('lower-cases and drops a +tag for any domain', () => {
    expect(mailboxKey(' Victim+News@Example.JP ')).toBe('victim@example.jp');
    expect(mailboxKey('victim+1@example.jp')).toBe('victim@example.jp');
    expect(mailboxKey('victim+a2+b@example.jp')).toBe('victim@example.jp');
  });

  it('drops dots only where the provider ignores them (Gmail, under either of its names)', () => {
    expect(mailboxKey('v.ic.tim@gmail.com')).toBe('victim@gmail.com');
    expect(mailboxKey('V.ictim+x@GoogleMail.com')).toBe('victim@gmail.com');
    expect(mailboxKey('ta.ro@docomo.ne.jp')).toBe('ta.ro@docomo.ne.jp');
    expect(mailboxKey('ta.ro@example.jp')).toBe('ta.ro@example.jp');
  });

  it('keeps a local part that is only a +tag, and what has no @', () => {
    expect(mailboxKey('+tag@example.jp')).toBe('+tag@example.jp');
    expect(mailboxKey('not-an-address')).toBe('not-an-address');
  });

  it('names the domain a cap counts, without a trailing dot, googlemail.com as gmail.com', () => {
    expect(mailDomainOf('a@Example.JP.')).toBe('example.jp');
    expect(mailDomainOf('a@googlemail.com')).toBe('gmail.com');
  });
});
