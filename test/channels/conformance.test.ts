import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOG, pluginOf } from '../../channels/catalog.ts';
import { ChannelError, type RecipientResult, type SendContext } from '../../channels/types.ts';
import { type ChannelId, LOCALES, MODES, type NoticeView, SEVERITIES } from '../../src/domain/notice.ts';
import { makeNoticeView } from '../helpers/notice-view.ts';
import { capHarness } from './harness/cap.ts';
import { lineHarness } from './harness/line.ts';
import { mailHarness } from './harness/mail.ts';
import type { ChannelHarness, HarnessInstance } from './harness/types.ts';
import { webhookHarness } from './harness/webhook.ts';
import { webpushHarness } from './harness/webpush.ts';
import { xHarness } from './harness/x.ts';

/**
 * One suite every channel passes, each through its real factory against a real local
 * peer. Every channel in channels/catalog.ts runs it: a new channel adds its harness here
 * (the record's type asks for one per channel id).
 */
const HARNESS: Record<ChannelId, ChannelHarness> = {
  mail: mailHarness,
  cap: capHarness,
  line: lineHarness,
  x: xHarness, // X API v2 fake (test/fakes/x-api.ts)
  webhook: webhookHarness, // Standard Webhooks receiver (test/fakes/webhook-receiver.ts)
  webpush: webpushHarness, // local Web Push service that verifies VAPID and decrypts (test/fakes/push-service.ts)
};
const HARNESSES: ChannelHarness[] = CATALOG.map((plugin) => HARNESS[plugin.id]);

let noticeSeq = 0;
function notice(overrides: Partial<NoticeView> = {}): NoticeView {
  noticeSeq++;
  const id = `n0conformance${String(noticeSeq).padStart(4, '0')}`;
  return makeNoticeView({ id, capIdentifier: `jp-432105-hibiki-${id}-r1`, ...overrides });
}

function context(view: NoticeView, onResult?: (r: RecipientResult) => void): SendContext {
  return {
    deliveryKey: `d-${view.id}-r${view.revision}-conformance-0`,
    attempt: 1,
    signal: new AbortController().signal,
    notice: view,
    ...(onResult ? { onResult } : {}),
  };
}

describe.each(HARNESSES)('channel conformance: $id', (harness) => {
  let h: HarnessInstance;

  beforeAll(async () => {
    h = await harness.setUp();
  });
  afterAll(async () => {
    await h?.tearDown();
  });

  it('describes itself consistently', () => {
    expect(h.channel.id).toBe(harness.id);
    expect(h.channel.maxBatch).toBeGreaterThanOrEqual(1);
    if (h.channel.audience === 'public') expect(h.channel.maxBatch).toBe(1);
  });

  it('renders every kind, mode, severity and locale, the same each time', () => {
    for (const kind of ['alert', 'update', 'cancel'] as const) {
      for (const mode of MODES) {
        for (const severity of SEVERITIES) {
          for (const locale of LOCALES) {
            const earlier =
              kind === 'alert'
                ? []
                : [{ revision: 1, capIdentifier: 'jp-432105-hibiki-n0x-r1', sentAt: new Date('2026-11-26T09:00:00Z') }];
            const view = notice({ kind, mode, severity, revision: kind === 'alert' ? 1 : 2, earlier });
            const once = h.channel.render(view, locale);
            expect(h.channel.render(view, locale)).toEqual(once);
          }
        }
      }
    }
  });

  it('previews its own rendering for the console, with its name in both languages', () => {
    const plugin = pluginOf(harness.id);
    expect(plugin.labels.ja).not.toBe('');
    expect(plugin.labels.en).not.toBe('');
    for (const locale of LOCALES) {
      const view = notice({ body: '市内全域に避難指示を発令しました。'.repeat(200) });
      const preview = plugin.preview(h.channel.render(view, locale), view, locale);
      expect(preview.items.length).toBeGreaterThan(0);
      for (const w of preview.warnings) expect(w.ja && w.en).toBeTruthy();
    }
  });

  it('renders long text and markup-like characters without throwing', () => {
    const view = notice({
      title: '<b>避難指示</b> & "警戒レベル4" 🙏🏽'.repeat(8),
      body: `${'市内全域に避難指示を発令しました。'.repeat(1_000)}\n<script>alert(1)</script>`,
    });
    expect(() => h.channel.render(view, 'ja')).not.toThrow();
  });

  it('sends a full batch: one result per recipient, each reported once', async () => {
    const view = notice();
    await h.prepare?.(view);
    const size = Math.min(h.channel.maxBatch, 25);
    const to = h.recipients(size);
    const before = await h.delivered();
    const reported: RecipientResult[] = [];
    const results = await h.channel.send(
      h.channel.render(view, 'ja'),
      to,
      context(view, (r) => reported.push(r)),
    );
    expect(results.map((r) => r.deliveryId).sort((a, b) => a - b)).toEqual(
      to.map((r) => r.deliveryId).sort((a, b) => a - b),
    );
    expect(results.every((r) => r.status === 'sent')).toBe(true);
    for (const r of reported) expect(results).toContainEqual(r);
    expect(new Set(reported.map((r) => r.deliveryId)).size).toBe(reported.length);
    expect((await h.delivered()) - before).toBe(size);
  });

  it('waits its turn (ctx.waitTurn) before it sends a routine batch, and sends once let go', async () => {
    const view = notice();
    await h.prepare?.(view);
    const to = h.recipients(Math.min(h.channel.maxBatch, 3));
    const before = await h.delivered();
    let letGo: () => void = () => undefined;
    const turn = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    let asked = 0;
    const sending = h.channel.send(h.channel.render(view, 'ja'), to, {
      ...context(view),
      waitTurn: () => {
        asked++;
        return turn;
      },
    });
    // An alert of the same channel is sending meanwhile: nothing of this batch reaches the peer.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(asked).toBeGreaterThan(0);
    expect(await h.delivered()).toBe(before);
    letGo();
    const results = await sending;
    expect(results.map((r) => r.status)).toEqual(to.map(() => 'sent'));
    expect((await h.delivered()) - before).toBe(to.length);
  });

  it('reports a passing outage as something to retry, never as a permanent failure', async () => {
    if (!h.failNextTemporarily) return;
    const view = notice();
    await h.prepare?.(view);
    const to = h.recipients(1);
    h.failNextTemporarily();
    let outcome: RecipientResult[] | ChannelError;
    try {
      outcome = await h.channel.send(h.channel.render(view, 'ja'), to, context(view));
    } catch (err) {
      if (!(err instanceof ChannelError)) throw err;
      outcome = err;
    }
    if (outcome instanceof ChannelError) expect(outcome.kind).not.toBe('permanent');
    else expect(outcome.map((r) => r.status)).toEqual(['retry']);
    // And the next attempt goes through.
    const again = await h.channel.send(h.channel.render(view, 'ja'), to, { ...context(view), attempt: 2 });
    expect(again.map((r) => r.status)).toEqual(['sent']);
  });

  it('reports refused credentials as permanent, naming the channel', async () => {
    if (!h.breakCredentials) return;
    const view = notice();
    await h.prepare?.(view);
    h.breakCredentials();
    const attempt = h.channel.send(h.channel.render(view, 'ja'), h.recipients(1), context(view));
    await expect(attempt).rejects.toSatisfy(
      (err) => err instanceof ChannelError && err.kind === 'permanent' && err.message.startsWith(`${harness.id}:`),
    );
  });
});
