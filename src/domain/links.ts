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
   * stored secret. Its token is `<subscriberId>.<signature>`, signed over the subscriber's
   * nonce as well: changing the nonce (on unsubscribe) voids every link mailed before.
   */
  manage(subscriberId: number, nonce: string): string;
  manageToken(subscriberId: number, nonce: string): string;
  /** The subscriber a manage token names, by its shape only; verify it with verifyManageToken. */
  manageTokenSubscriber(token: string): number | undefined;
  /** Whether the token's signature matches its subscriber and that subscriber's nonce now. */
  verifyManageToken(token: string, nonce: string): boolean;
}

export function createLinks(publicBaseUrl: string, secret: string): Links {
  const base = publicBaseUrl.replace(/\/+$/, '');
  const sign = (contactId: number) =>
    createHmac('sha256', secret).update(`unsubscribe:${contactId}`).digest('base64url').slice(0, 32);
  // A different prefix, so an unsubscribe signature never passes as a manage one. The
  // empty nonce (subscribers from before nonces) signs exactly as links did then.
  const signManage = (subscriberId: number, nonce: string) =>
    createHmac('sha256', secret)
      .update(nonce === '' ? `manage:${subscriberId}` : `manage:${subscriberId}:${nonce}`)
      .digest('base64url')
      .slice(0, 32);
  const manageToken = (subscriberId: number, nonce: string) => `${subscriberId}.${signManage(subscriberId, nonce)}`;
  const MANAGE_TOKEN = /^([1-9]\d{0,15})\.([A-Za-z0-9_-]{32})$/;
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
    manage: (subscriberId, nonce) => `${base}/manage?t=${manageToken(subscriberId, nonce)}`,
    manageToken,
    manageTokenSubscriber(token) {
      const match = MANAGE_TOKEN.exec(token);
      return match ? Number(match[1]) : undefined;
    },
    verifyManageToken(token, nonce) {
      const match = MANAGE_TOKEN.exec(token);
      if (!match) return false;
      return same(signManage(Number(match[1]), nonce), match[2] as string);
    },
  };
}
