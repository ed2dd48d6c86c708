import type { FC } from 'hono/jsx';
import { CHANNEL_WORD } from '../../../channels/catalog.ts';
import type { Deps } from '../../deps.ts';
import { jstWords } from '../../domain/jst.ts';
import { type ChannelDown, createChannelStates } from '../../queue/channel-state.ts';
import { isoJst } from '../layout.tsx';
/**
 * The enabled channels whose provider is down now, as the workers recorded it in Redis.
 * A page must still show when Redis does not answer: then no banner, and a warning in the log.
 */
export async function channelsDown(
  deps: Pick<Deps, 'redis' | 'config' | 'channels' | 'logger'>,
): Promise<ChannelDown[]> {
  try {
    return await createChannelStates(deps.redis, deps.config.queuePrefix).list(deps.channels.ids());
  } catch (err) {
    deps.logger.warn({ err: { message: (err as Error).message } }, 'could not read which channels are down');
    return [];
  }
}

/** 17:05 today, else 12月6日 17:05 / 6 Dec 17:05: when an outage began, at a glance. */
function since(at: Date, now: Date): { ja: string; en: string } {
  const sameDay = jstWords(at).ja.split(' ')[0] === jstWords(now).ja.split(' ')[0];
  const hhmm = jstWords(at).en.slice(11, 16);
  if (sameDay) return { ja: hhmm, en: `${hhmm} JST` };
  const words = jstWords(at);
  return { ja: `${words.ja.split(' ')[0]} ${hhmm}`, en: `${words.en.slice(0, 10)} ${hhmm} JST` };
}

/**
 * A channel's provider is down: say so above everything else on the page, with since when
 * and why, and that nothing is lost meanwhile, so staff neither retry by hand nor resend.
 */
export const ChannelDownBanner: FC<{ down: ChannelDown[]; now?: Date }> = ({ down, now = new Date() }) => {
  if (down.length === 0) return null;
  return (
    <div class="flash bad" role="alert" data-banner="channel-down">
      {down.map((d) => {
        const word = CHANNEL_WORD[d.channel];
        const at = since(d.since, now);
        return (
          <p>
            <strong>
              {word.ja}配信が停止中です（<time datetime={isoJst(d.since)}>{at.ja}</time> から）
            </strong>{' '}
            <span class="en" lang="en">
              / {word.en} delivery is down since {at.en}
            </span>
            <br />
            <span class="muted">{d.reason}</span>
          </p>
        );
      })}
      <p>
        配信先が応答するまで送信を保留し、応答が戻ると自動で再開します。保留中の配信は失敗扱いになりません。{' '}
        <span class="en" lang="en">
          Deliveries wait, spending none of their attempts, and resume by themselves when the provider answers again.
        </span>
      </p>
    </div>
  );
};
