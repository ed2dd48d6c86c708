import type { Channel, Recipient } from '../../../channels/types.ts';
import type { ChannelId, NoticeView } from '../../../src/domain/notice.ts';

/**
 * How the shared conformance suite (test/channels/conformance.test.ts) drives one channel:
 * the real channel factory, pointed at a real local peer (SMTP sink, a fake that speaks
 * the provider's HTTP API and checks what it checks, or a real store).
 */
export interface ChannelHarness {
  id: ChannelId;
  setUp(): Promise<HarnessInstance>;
}

export interface HarnessInstance {
  channel: Channel;
  /** n recipients the peer accepts (for a public channel, n is 1 and the address '*'). */
  recipients(n: number): Recipient[];
  /** Makes anything the peer needs to accept this notice (e.g. the notice row a CAP message belongs to). */
  prepare?(notice: NoticeView): Promise<void>;
  /** How many recipients the peer has accepted a message for so far. */
  delivered(): Promise<number>;
  /** The peer fails the next request the way a passing outage does (5xx, 4xx greylisting…). */
  failNextTemporarily?(): void;
  /** The peer refuses the credentials from now on (401/535…). */
  breakCredentials?(): void;
  tearDown(): Promise<void>;
}
