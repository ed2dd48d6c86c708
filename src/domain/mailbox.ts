/**
 * The mailbox an address delivers to, as far as a sign-up limit needs to know it: the key
 * that stops `victim+1@`, `victim+a2@` and `v.ictim@gmail.com` from each being a fresh
 * address to mail after the real one reached its limit. Only a key for counting: the
 * address itself is stored and mailed exactly as the resident typed it.
 */

/**
 * Providers known to deliver `a.b@` and `ab@` to one mailbox. Only these: elsewhere a dot
 * can make another person's address (docomo.ne.jp and ezweb.ne.jp, the carriers many
 * residents use, treat `ta.ro@` and `taro@` as two mailboxes), and counting two people
 * as one would hold back the second one's sign-up.
 */
const DOTS_IGNORED = new Set(['gmail.com']);

/** Other names of one provider's domain. */
const SAME_DOMAIN: Record<string, string> = { 'googlemail.com': 'gmail.com' };

/** The domain part, lower-cased, without a trailing dot, under the provider's main name. */
export function mailDomainOf(email: string): string {
  const address = email.trim().toLowerCase();
  const domain = address.slice(address.lastIndexOf('@') + 1).replace(/\.$/, '');
  return SAME_DOMAIN[domain] ?? domain;
}

/**
 * The mailbox key: lower-case; the `+tag` of a sub-address dropped, whatever the domain
 * (Gmail, Outlook, iCloud and most others deliver it to the mailbox without the tag, and
 * where `+` is part of a name the worst is two people sharing one sign-up limit); dots
 * dropped only for providers known to ignore them.
 */
export function mailboxKey(email: string): string {
  const address = email.trim().toLowerCase();
  const at = address.lastIndexOf('@');
  if (at <= 0) return address;
  let local = address.slice(0, at);
  const domain = mailDomainOf(address);
  const plus = local.indexOf('+');
  if (plus > 0) local = local.slice(0, plus);
  if (DOTS_IGNORED.has(domain)) local = local.replaceAll('.', '');
  return `${local}@${domain}`;
}
