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
}

export function createLinks(publicBaseUrl: string, secret: string): Links {
  const base = publicBaseUrl.replace(/\/+$/, '');
  const sign = (contactId: number) =>
    createHmac('sha256', secret).update(`unsubscribe:${contactId}`).digest('base64url').slice(0, 32);
  return {
    noticePage: (id) => `${base}/notices/${encodeURIComponent(id)}`,
    capFile: (identifier) => `${base}/feeds/cap/${encodeURIComponent(identifier)}.xml`,
    capFeed: () => `${base}/feeds/cap.atom`,
    unsubscribe: (contactId) => `${base}/unsubscribe?c=${contactId}&t=${sign(contactId)}`,
    unsubscribeToken: sign,
    verifyUnsubscribeToken(contactId, token) {
      const expected = Buffer.from(sign(contactId));
      const given = Buffer.from(token);
      return expected.length === given.length && timingSafeEqual(expected, given);
    },
  };
}
