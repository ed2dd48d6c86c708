import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebhookEvent } from '../../channels/webhook/payload.ts';
import { createWebhookChannel } from '../../channels/webhook/webhook-channel.ts';
import type { DepsOverrides } from '../../src/deps.ts';
import { createChannelStates } from '../../src/queue/channel-state.ts';
import { createWebhookEndpointRepo, type WebhookEndpointInput } from '../../src/store/webhook-endpoints.ts';
import { type RunningWorkers, startWorkers } from '../../workers/index.ts';
import { recomputeSignature, startWebhookReceiver, type WebhookReceiver } from '../fakes/webhook-receiver.ts';
import { postNotice, type StaffClient, staffClient } from '../helpers/api.ts';
import { createTestDeps, type TestDeps } from '../helpers/deps.ts';
import { tally, waitForDeliveries } from '../helpers/seed.ts';
import { waitUntil } from '../helpers/wait.ts';

/**
 * Adds the webhook channel as src/deps.ts will, through its real factory and the real
 * endpoint store, unless the deployment already made one.
 */
const withWebhookChannel: DepsOverrides['channels'] = (made, deps) => {
  if (made.some((c) => c.id === 'webhook')) return made;
  const endpoints = createWebhookEndpointRepo(deps.store.db);
  const webhook = createWebhookChannel(deps.config.webhook, {
    logger: deps.logger.child({ channel: 'webhook' }),
    secretOf: endpoints.secretOf,
  });
  return [...made, webhook];
};

/** API → dispatch → deliver → two signed-webhook receivers, over real Redis and a real store. */
describe('webhook pipeline', () => {
  let deps: TestDeps | undefined;
  let workers: RunningWorkers | undefined;
  const receivers: WebhookReceiver[] = [];

  afterEach(async () => {
    await workers?.close();
    await deps?.dispose();
    for (const r of receivers.splice(0)) {
      expect(r.disagreements).toEqual([]);
      await r.close();
    }
    workers = deps = undefined;
  });

  async function setUp() {
    deps = await createTestDeps({
      env: { CHANNELS: 'webhook', WEBHOOK_ALLOW_HTTP_LOOPBACK: 'true', WEBHOOK_TIMEOUT_MS: '2000' },
      overrides: { channels: withWebhookChannel },
    });
    workers = startWorkers(deps);
    const endpoints = createWebhookEndpointRepo(deps.store.db);
    const endpoint = async (input: Omit<WebhookEndpointInput, 'url' | 'createdBy'>) => {
      const receiver = await startWebhookReceiver();
      receivers.push(receiver);
      const { id, secret } = await endpoints.create({ ...input, url: receiver.url('/hibiki'), createdBy: 'test' });
      receiver.setSecret(secret);
      return { id, secret, receiver };
    };
    return { deps, endpoints, endpoint, client: await staffClient(deps, 'approver') };
  }

  const events = (r: WebhookReceiver) => r.deliveries.map((d) => d.payload as WebhookEvent);

  async function dispatched(d: TestDeps, id: string) {
    await waitUntil(
      `notice ${id} to be dispatched`,
      async () => (await d.store.notices.get(id))?.status === 'dispatched',
    );
  }

  async function post(client: StaffClient, overrides: Record<string, unknown>) {
    return postNotice(client, { channels: ['webhook'], ...overrides });
  }

  it('sends each endpoint the notices its topics and minimum severity select, signed, with a delivery row each', async () => {
    const { deps, endpoint, client } = await setUp();
    const disaster = await endpoint({ name: '市 CMS', topics: ['disaster'], areas: [], minSeverity: 'info' });
    const emergencyOnly = await endpoint({ name: 'テレビ', topics: ['weather'], areas: [], minSeverity: 'emergency' });

    // Routine, topic disaster: the CMS only (the TV wants emergencies only).
    const routine = await post(client, { title: '避難所の開設について', topics: ['disaster'] });
    await waitForDeliveries(deps, routine, 1);
    // A warning about weather: neither (wrong topic for the CMS, below the TV's minimum).
    const warning = await post(client, {
      title: '大雨に注意',
      severity: 'warning',
      category: '気象情報',
      topics: ['weather'],
    });
    await dispatched(deps, warning);
    expect(tally(await deps.store.deliveries.counts(warning))).toEqual({ queued: 0, sent: 0, failed: 0, skipped: 0 });
    // An emergency reaches both, whatever their topics.
    const emergency = await post(client, {
      title: '【避難指示】菊池川流域',
      body: '菊池川流域に避難指示を発令しました。直ちに避難してください。',
      severity: 'emergency',
      category: '避難情報',
      topics: ['weather'],
    });
    await waitForDeliveries(deps, emergency, 2);

    expect(events(disaster.receiver).map((e) => [e.data.notice.id, e.type])).toEqual([
      [routine, 'notice.published'],
      [emergency, 'notice.published'],
    ]);
    expect(events(emergencyOnly.receiver).map((e) => [e.data.notice.id, e.type])).toEqual([
      [emergency, 'notice.published'],
    ]);
    const tv = events(emergencyOnly.receiver)[0];
    expect(tv?.data.notice).toMatchObject({
      revision: 1,
      severity: 'emergency',
      markedTitle: { ja: '【緊急】【避難指示】菊池川流域' },
      sentAt: expect.stringMatching(/\+09:00$/),
    });
    expect(tv?.data.links).toEqual({
      page: `https://hibiki.example.jp/notices/${emergency}`,
      cap: expect.stringMatching(/^https:\/\/hibiki\.example\.jp\/feeds\/cap\/.+\.xml$/),
    });

    // Each signed with its own endpoint's secret, and verifiable by a library receivers use.
    for (const { receiver, secret } of [disaster, emergencyOnly]) {
      for (const d of receiver.deliveries) {
        expect(() => new Webhook(secret).verify(d.body, d.headers)).not.toThrow();
        expect(d.signature).toBe(`v1,${recomputeSignature(secret, d.webhookId, String(d.timestamp), d.body)}`);
      }
    }
    // …and not with another endpoint's.
    const toTv = emergencyOnly.receiver.deliveries[0];
    expect(() => new Webhook(disaster.secret).verify(toTv?.body ?? '', toTv?.headers ?? {})).toThrow(/signature/);

    const rows = await deps.store.deliveries.list(emergency, { channel: 'webhook', limit: 10 });
    expect(rows.map((r) => [Number(r.recipient), r.status]).sort()).toEqual(
      [
        [disaster.id, 'sent'],
        [emergencyOnly.id, 'sent'],
      ].sort(),
    );
  });

  it('retries a 503 with the same webhook-id, fails a 404 for good, and sends corrections and cancellations', async () => {
    const { deps, endpoint, client } = await setUp();
    const flaky = await endpoint({ name: '防災アプリ', topics: ['disaster'], areas: [], minSeverity: 'info' });
    const gone = await endpoint({ name: '旧システム', topics: ['disaster'], areas: [], minSeverity: 'info' });
    flaky.receiver.failNext(2, 503, { 'retry-after': '0' });
    gone.receiver.failNext(10, 404);

    const id = await post(client, { topics: ['disaster'] });
    const t = await waitForDeliveries(deps, id, 2);
    expect(t).toEqual({ queued: 0, sent: 1, failed: 1, skipped: 0 });
    const rows = await deps.store.deliveries.list(id, { channel: 'webhook', limit: 10 });
    const row = (endpointId: number) => rows.find((r) => Number(r.recipient) === endpointId);
    // The receiver's own 503s are its outage, not the delivery's fault: they spent no attempt.
    expect(row(flaky.id)).toMatchObject({ status: 'sent', attempts: 1 });
    expect(row(gone.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: expect.stringContaining('HTTP 404'),
    });
    expect(row(gone.id)?.lastError).not.toContain('/hibiki');
    // Three tries, one webhook-id: the receiver can tell a retry from a new notice.
    expect(flaky.receiver.requests.map((r) => r.status)).toEqual([503, 503, 204]);
    expect(new Set(flaky.receiver.requests.map((r) => r.webhookId)).size).toBe(1);

    const correction = await client.post(`/v1/notices/${id}/revisions`, { body: '開設時刻を19時に訂正します。' });
    expect(correction.status).toBe(202);
    await waitUntil('the correction to arrive', () => flaky.receiver.deliveries.length >= 2);
    const cancel = await client.post(`/v1/notices/${id}/cancel`, { reason: '誤って配信したため取り消します。' });
    expect(cancel.status).toBe(202);
    await waitUntil('the cancellation to arrive', () => flaky.receiver.deliveries.length >= 3);

    const [published, updated, cancelled] = events(flaky.receiver);
    expect(published?.type).toBe('notice.published');
    expect(updated).toMatchObject({ type: 'notice.updated', data: { notice: { id, revision: 2, kind: 'update' } } });
    expect(updated?.data.notice.earlier.map((e) => e.revision)).toEqual([1]);
    expect(updated?.data.notice.markedTitle.ja).toMatch(/^【訂正】/);
    expect(cancelled).toMatchObject({ type: 'notice.cancelled', data: { notice: { id, revision: 3 } } });
    expect(cancelled?.data.notice.earlier.map((e) => e.revision)).toEqual([1, 2]);
    const ids = flaky.receiver.deliveries.map((d) => d.webhookId);
    expect(new Set(ids).size).toBe(3);
  });

  it('waits out a receiver that is down for longer than the attempts last, spending none, and sends once when it is back', async () => {
    const { deps, endpoint, client } = await setUp();
    const down = await endpoint({ name: '防災アプリ', topics: ['disaster'], areas: [], minSeverity: 'info' });
    // More 503s than DELIVERY_ATTEMPTS (8): before, the delivery was failed for good after the eighth.
    const outage = deps.config.delivery.attempts + 4;
    down.receiver.failNext(outage, 503);

    const id = await post(client, { topics: ['disaster'] });
    expect(await waitForDeliveries(deps, id, 1)).toEqual({ queued: 0, sent: 1, failed: 0, skipped: 0 });
    const [row] = await deps.store.deliveries.list(id, { channel: 'webhook', limit: 1 });
    expect(row).toMatchObject({ status: 'sent', attempts: 1 });
    expect(down.receiver.requests.map((r) => r.status)).toEqual([...Array(outage).fill(503), 204]);
    expect(down.receiver.deliveries).toHaveLength(1);
    // One receiver's outage is not the channel's: /readyz keeps webhook up for every other receiver.
    const states = createChannelStates(deps.redis, deps.config.queuePrefix);
    expect(await states.get('webhook')).toBeUndefined();
  });
});
