import type { Deps } from '../../deps.ts';
import { type ApiError, asApiError } from '../../http/errors.ts';

/**
 * What keeps a compose form from going out twice, and which service refusals the form shows
 * beside its fields rather than as the error page.
 */

/** How long a correction's or resubmission's nonce is remembered: longer than anyone keeps a form open and clicks twice. */
const ONCE_SECONDS = 24 * 60 * 60;

const PLAIN_STATUSES = new Set([400, 403, 404, 409, 422]);

/** Whether the service refused in a way the form can show beside its fields (otherwise the error page). */
export const formRefusal = (thrown: unknown): ApiError | undefined => {
  const err = asApiError(thrown);
  return err && PLAIN_STATUSES.has(err.status) ? err : undefined;
};

/** A form's nonce, remembered in Redis for ONCE_SECONDS. */
export function createOnceGuard(deps: Deps) {
  /** Remembers a form's nonce once; false when the same form was already sent (a double click). */
  async function claimOnce(kind: string, nonce: string): Promise<boolean> {
    const key = `${deps.config.queuePrefix}:console:once:${kind}:${nonce}`;
    return (await deps.redis.set(key, '1', 'EX', ONCE_SECONDS, 'NX')) === 'OK';
  }
  const releaseOnce = (kind: string, nonce: string) =>
    deps.redis.del(`${deps.config.queuePrefix}:console:once:${kind}:${nonce}`);
  const onceSpent = async (kind: string, nonce: string) =>
    (await deps.redis.exists(`${deps.config.queuePrefix}:console:once:${kind}:${nonce}`)) === 1;
  return { claimOnce, releaseOnce, onceSpent };
}
