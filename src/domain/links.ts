import { createHmac, timingSafeEqual } from 'node:crypto';

/** Every public URL Hibiki puts into a message, built in one place from PUBLIC_BASE_URL. */
export interface Links {
  noticePage(noticeId: string): string;
  capFile(identifier: string): string;
  capFeed(): string;
  /** A per-contact unsubscribe link, signed so that it needs no stored secret to verify. */
  unsubscribe(contactId: number): string;
  unsubscribeToken(contactId: number): string;
  verifyUnsubscribeToken(contactId: number, token: string): boolean;
  /**
   * A per-subscriber manage link for every notice mail, signed like the unsubscribe link:
   * each mail needs it and only hashes of stored secrets are kept, so it cannot be a
   * stored secret. Its token is `<subscriberId>.<signature>`.
   */
  manage(subscriberId: number): string;
  manageToken(subscriberId: number): string;
  /** The subscriber a signed manage token names, or undefined when the signature does not match. */
  verifyManageToken(token: string): number | undefined;
}

export function createLinks(publicBaseUrl: string, secret: string): Links {
  const base = publicBaseUrl.replace(/\/+$/, '');
  const sign = (contactId: number) =>
    createHmac('sha256', secret).update(`unsubscribe:${contactId}`).digest('base64url').slice(0, 32);
  // A different prefix, so an unsubscribe signature never passes as a manage one.
  const signManage = (subscriberId: number) =>
    createHmac('sha256', secret).update(`manage:${subscriberId}`).digest('base64url').slice(0, 32);
  const manageToken = (subscriberId: number) => `${subscriberId}.${signManage(subscriberId)}`;
  const same = (a: string, b: string) => {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  };
  return {
    noticePage: (id) => `${base}/notices/${encodeURIComponent(id)}`,
    capFile: (identifier) => `${base}/feeds/cap/${encodeURIComponent(identifier)}.xml`,
    capFeed: () => `${base}/feeds/cap.atom`,
    unsubscribe: (contactId) => `${base}/unsubscribe?c=${contactId}&t=${sign(contactId)}`,
    unsubscribeToken: sign,
    verifyUnsubscribeToken(contactId, token) {
      return same(sign(contactId), token);
    },
    manage: (subscriberId) => `${base}/manage?t=${manageToken(subscriberId)}`,
    manageToken,
    verifyManageToken(token) {
      const match = /^([1-9]\d{0,15})\.([A-Za-z0-9_-]{32})$/.exec(token);
      if (!match) return undefined;
      const subscriberId = Number(match[1]);
      return same(signManage(subscriberId), match[2] as string) ? subscriberId : undefined;
    },
  };
}
