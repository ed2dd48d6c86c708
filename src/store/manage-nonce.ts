import { randomBytes } from 'node:crypto';

import type { Executor } from './db.ts';
/**
 * Every manage link a notice mail carries is signed over the subscriber's id and this
 * nonce (src/domain/links.ts). Changing the nonce voids every such link at once: an old
 * mail's link must not open the subscription of someone who unsubscribed. Deleting the
 * subscriber deletes the nonce with it, and ids are never reused.
 */
export const newManageNonce = (): string => randomBytes(16).toString('base64url');

export async function rotateManageNonce(q: Executor, subscriberId: number, at: string): Promise<void> {
  await q
    .updateTable('subscribers')
    .set({ manage_nonce: newManageNonce(), updated_at: at })
    .where('id', '=', subscriberId)
    .execute();
}

/** The subscriber's nonce, or undefined when there is no such subscriber. */
export async function manageNonceOf(q: Executor, subscriberId: number): Promise<string | undefined> {
  const row = await q
    .selectFrom('subscribers')
    .select('manage_nonce')
    .where('id', '=', subscriberId)
    .executeTakeFirst();
  return row?.manage_nonce;
}
