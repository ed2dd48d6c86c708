import webpush from 'web-push';

/** Where the generated pair is kept: the store's settings, handed over by the composition root. */
export interface KeptValues {
  getOrCreate(key: string, make: () => string): Promise<string>;
}

export interface VapidKeys {
  /** base64url of the 65-byte uncompressed P-256 point: the applicationServerKey pages subscribe with. */
  publicKey: string;
  /** base64url of the 32-byte private scalar. */
  privateKey: string;
}

/** The settings key of the generated pair: one JSON value, so the two halves can never come from different runs. */
export const VAPID_SETTING = 'webpush_vapid_keys';

const B64URL = /^[A-Za-z0-9_-]+$/;

function isPair(value: unknown): value is VapidKeys {
  if (value === null || typeof value !== 'object') return false;
  const { publicKey, privateKey } = value as Record<string, unknown>;
  return (
    typeof publicKey === 'string' &&
    typeof privateKey === 'string' &&
    B64URL.test(publicKey) &&
    B64URL.test(privateKey) &&
    Buffer.from(publicKey, 'base64url').length === 65 &&
    Buffer.from(privateKey, 'base64url').length === 32
  );
}

/**
 * The VAPID key pair to sign pushes with: the configured one (VAPID_PUBLIC_KEY and
 * VAPID_PRIVATE_KEY), or a pair made with web-push on the first start and kept in the
 * settings table. Every process of a deployment reads the same stored pair, and it must
 * never change: browsers bind each subscription to the public key it was made with, so a
 * new pair would silently cut off every resident who subscribed before.
 */
export async function resolveVapidKeys(
  webpushConfig: { vapid?: VapidKeys | undefined },
  settings: KeptValues,
): Promise<VapidKeys> {
  if (webpushConfig.vapid) return webpushConfig.vapid;
  const stored = await settings.getOrCreate(VAPID_SETTING, () => {
    const { publicKey, privateKey } = webpush.generateVAPIDKeys();
    return JSON.stringify({ publicKey, privateKey });
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    parsed = undefined;
  }
  if (!isPair(parsed)) {
    throw new Error(
      `the stored VAPID keys (settings key ${VAPID_SETTING}) are damaged; set VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or restore the settings row (deleting it makes a new pair, and every push subscription then stops working)`,
    );
  }
  return { publicKey: parsed.publicKey, privateKey: parsed.privateKey };
}

/** resolveVapidKeys once, for a caller that asks often (the public-key route); a failure is not cached. */
export function createVapidResolver(
  webpushConfig: { vapid?: VapidKeys | undefined },
  settings: KeptValues,
): () => Promise<VapidKeys> {
  let pending: Promise<VapidKeys> | undefined;
  return () => {
    pending ??= resolveVapidKeys(webpushConfig, settings).catch((err) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}
