import { type CapArchive, CapIdentifierConflictError, type CapMessage } from '../../src/domain/cap-archive.ts';
import type { Channel, NoticeView, RecipientResult } from '../types.ts';
import { ChannelError } from '../types.ts';
import { buildCapMessage } from './build-cap.ts';
import type { CapOptions } from './types.ts';
export interface CapChannelDeps {
  archive: CapArchive;
}

/**
 * The CAP 1.2 feed as a channel: "sending" archives the message, which the public feed
 * (src/feeds/feeds.ts) then serves to aggregators. One public post per notice revision.
 */
export function createCapChannel(options: CapOptions, deps: CapChannelDeps): Channel<CapMessage> {
  return {
    id: 'cap',
    audience: 'public',
    maxBatch: 1,

    // CAP has one language block per message here (ja-JP), so the locale is ignored.
    render(notice: NoticeView): CapMessage {
      try {
        return buildCapMessage(notice, options);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw new ChannelError(
          'cap',
          'permanent',
          `cannot render notice ${notice.id} revision ${notice.revision}: ${reason}`,
          { cause: err },
        );
      }
    },

    async send(message, to, ctx) {
      if (to.length === 0) return [];
      // A routine message waits while an alert is being archived in this process.
      await ctx.waitTurn?.();
      if (ctx.signal.aborted) {
        throw new ChannelError('cap', 'retryable', `archiving ${message.identifier} was aborted`, {
          cause: ctx.signal.reason,
        });
      }
      try {
        await deps.archive.put({
          identifier: message.identifier,
          noticeId: message.noticeId,
          revision: message.revision,
          msgType: message.msgType,
          sentAt: message.sentAt,
          expiresAt: message.expiresAt,
          xml: message.xml,
        });
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        // A reused identifier stays reused however often it is retried.
        const kind = err instanceof CapIdentifierConflictError ? 'permanent' : 'retryable';
        throw new ChannelError('cap', kind, `could not archive CAP message ${message.identifier}: ${reason}`, {
          cause: err,
        });
      }
      return to.map((recipient) => {
        const result: RecipientResult = {
          deliveryId: recipient.deliveryId,
          status: 'sent',
          providerId: message.identifier,
        };
        ctx.onResult?.(result);
        return result;
      });
    },
  };
}
