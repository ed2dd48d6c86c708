import { createHash, createHmac } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/**
 * The HMAC key of a Standard Webhooks secret: the base64 after `whsec_`. Throws on a
 * secret that is not one (empty, or not base64), which only a hand-edited store can hold.
 */
export function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new Error('the endpoint secret is not whsec_ followed by base64');
  const key = Buffer.from(encoded, 'base64');
  if (key.length < 16) throw new Error('the endpoint secret is shorter than 16 bytes');
  return key;
}

/**
 * `webhook-id`: the same for every attempt at one delivery (the batch's delivery key and
 * the delivery row), so a receiver that saw it already can drop a retry; different for
 * every other delivery. Hashed, so it is short and only [A-Za-z0-9_-].
 */
export function webhookId(deliveryKey: string, deliveryId: number): string {
  const digest = createHash('sha256').update(`${deliveryKey}\n${deliveryId}`).digest('base64url');
  return `msg_${digest.slice(0, 32)}`;
}

/** `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` (Standard Webhooks). */
export function signWebhook(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}
