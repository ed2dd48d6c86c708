import type { Logger } from 'pino';
import type { ChannelId, Recipient, RecipientResult, SendContext } from './types.ts';

/**
 * Hands one outcome to the worker as soon as it is known. The worker's bookkeeping failing
 * must not stop the batch: send() still returns every result.
 */
export function reportResult(channel: ChannelId, ctx: SendContext, result: RecipientResult, logger: Logger): void {
  try {
    ctx.onResult?.(result);
  } catch (err) {
    logger.warn({ deliveryKey: ctx.deliveryKey, err: String(err) }, `${channel} onResult callback threw`);
  }
}

/**
 * reportResult for a channel that sends to one receiver per recipient (a webhook, a push
 * service): a result that is not `sent` also gets a debug line naming the receiver's host
 * only, never the address (a push endpoint identifies a resident's browser). Returns the result.
 */
export function reportRecipientResult(
  channel: ChannelId,
  ctx: SendContext,
  recipient: Recipient,
  result: RecipientResult,
  logger: Logger,
  log: { host: string; message: string },
): RecipientResult {
  if (result.status !== 'sent') {
    logger.debug(
      {
        deliveryKey: ctx.deliveryKey,
        deliveryId: recipient.deliveryId,
        host: log.host,
        status: result.status,
        reason: result.reason,
      },
      log.message,
    );
  }
  reportResult(channel, ctx, result, logger);
  return result;
}

/** The one log line per batch: how many were sent, failed or left to retry, and how long it took. */
export function logBatch(
  channel: ChannelId,
  ctx: SendContext,
  results: RecipientResult[],
  startedAt: number,
  logger: Logger,
  extra: Record<string, unknown> = {},
): void {
  const counts = { sent: 0, failed: 0, retry: 0 };
  for (const r of results) counts[r.status]++;
  logger.info(
    {
      deliveryKey: ctx.deliveryKey,
      attempt: ctx.attempt,
      recipients: results.length,
      ...extra,
      ...counts,
      ms: Date.now() - startedAt,
    },
    `${channel} batch finished`,
  );
}
