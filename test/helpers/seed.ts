import type { Deps } from '../../src/deps.ts';
import type { DeliveryCount } from '../../src/store/deliveries.ts';
import { waitUntil } from './wait.ts';

/** Residents on the mail list: r0000@example.jp, r0001@example.jp, … */
export function residentEmails(count: number, domain = 'example.jp', from = 0): string[] {
  return Array.from({ length: count }, (_, i) => `r${String(from + i).padStart(4, '0')}@${domain}`);
}

export async function seedMailSubscribers(deps: Deps, emails: string[], topics = ['disaster']): Promise<void> {
  const chunk = 1_000;
  for (let i = 0; i < emails.length; i += chunk) {
    await deps.store.subscribers.importMail(
      emails.slice(i, i + chunk).map((email) => ({ email, topics, areas: [], locale: 'ja' as const })),
    );
  }
}

export function tally(counts: DeliveryCount[], channel?: string) {
  const t = { queued: 0, sent: 0, failed: 0, skipped: 0 };
  for (const c of counts) if (!channel || c.channel === channel) t[c.status] += c.count;
  return t;
}

/** Waits until a notice has delivery rows and none of them is still queued. */
export async function waitForDeliveries(deps: Deps, noticeId: string, expectedRows: number, timeoutMs = 30_000) {
  return waitUntil(
    `all ${expectedRows} deliveries of ${noticeId} to finish`,
    async () => {
      const t = tally(await deps.store.deliveries.counts(noticeId));
      return t.queued === 0 && t.sent + t.failed + t.skipped >= expectedRows ? t : undefined;
    },
    timeoutMs,
  );
}
