import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/domain/ids.ts';
import type { RevisionInput } from '../../src/store/notices.ts';
import { createStore, type Store } from '../../src/store/store.ts';
import { createTestDb, STORE_KINDS, type TestDb } from '../helpers/db.ts';

const input = (overrides: Partial<RevisionInput> = {}): RevisionInput => ({
  kind: 'alert',
  title: '避難所の開設',
  body: '市民体育館を開設します。',
  severity: 'warning',
  category: '避難所情報',
  mode: 'actual',
  topics: ['shelter'],
  areas: [],
  department: null,
  channels: ['mail', 'cap'],
  link: null,
  expiresAt: null,
  scheduledAt: null,
  ...overrides,
});

/** One suite, run against both stores, so SQLite and PostgreSQL behave the same. */
describe.each(STORE_KINDS)('repositories on %s', (kind) => {
  let db: TestDb;
  let store: Store;

  beforeAll(async () => {
    db = await createTestDb(kind);
    store = createStore(db, '432105');
  });
  afterAll(async () => {
    await db.drop();
  });

  describe('notices', () => {
    it('creates a notice with revision 1 and a CAP identifier, sent to the whole second', async () => {
      const id = newId('n');
      const now = new Date('2026-11-26T10:39:12.345Z');
      const { notice, revision } = await store.notices.create(id, input(), '防災課', null, now);
      expect(notice).toMatchObject({
        id,
        status: 'queued',
        currentRevision: 1,
        severity: 'warning',
        createdBy: '防災課',
      });
      expect(revision.capIdentifier).toBe(`jp-432105-hibiki-${id}-r1`);
      expect(revision.sentAt.toISOString()).toBe('2026-11-26T10:39:12.000Z');
      expect(revision.topics).toEqual(['shelter']);
    });

    it('adds revisions in order, and a cancel marks the notice cancelled', async () => {
      const id = newId('n');
      await store.notices.create(id, input(), 'a', null);
      const r2 = await store.notices.addRevision(id, input({ kind: 'update', body: '訂正' }), 'b');
      const r3 = await store.notices.addRevision(id, input({ kind: 'cancel' }), 'c');
      expect([r2.revision, r3.revision]).toEqual([2, 3]);
      expect((await store.notices.revisions(id)).map((r) => r.kind)).toEqual(['alert', 'update', 'cancel']);
      expect(await store.notices.get(id)).toMatchObject({ status: 'cancelled', currentRevision: 3 });
    });

    it('a future schedule makes the notice scheduled', async () => {
      const id = newId('n');
      const { notice } = await store.notices.create(
        id,
        input({ scheduledAt: new Date(Date.now() + 3_600_000) }),
        'a',
        null,
      );
      expect(notice.status).toBe('scheduled');
    });

    it('finds a notice by idempotency key and refuses the key twice', async () => {
      const id = newId('n');
      await store.notices.create(id, input(), 'a', { key: `key-${kind}`, hash: 'h1' });
      expect(await store.notices.findByIdempotencyKey(`key-${kind}`)).toMatchObject({ notice: { id }, hash: 'h1' });
      await expect(
        store.notices.create(newId('n'), input(), 'a', { key: `key-${kind}`, hash: 'h2' }),
      ).rejects.toThrow();
    });

    it('pages the list newest first with a cursor', async () => {
      const first = await store.notices.list({ limit: 2 });
      const next = await store.notices.list({ limit: 2, before: first[1]?.id as string });
      expect(first).toHaveLength(2);
      expect(next.map((n) => n.id)).not.toContain(first[0]?.id);
      expect(next.every((n) => n.createdAt <= (first[1] as { createdAt: Date }).createdAt)).toBe(true);
    });

    it('keeps dispatch progress', async () => {
      const id = newId('n');
      await store.notices.create(id, input(), 'a', null);
      expect(await store.notices.dispatchState(id, 1)).toEqual({});
      await store.notices.saveDispatchState(id, 1, { mail: { after: 42, nextBatch: 3, done: false } });
      expect(await store.notices.dispatchState(id, 1)).toEqual({ mail: { after: 42, nextBatch: 3, done: false } });
    });

    it('creates a notice waiting for approval when asked, whatever its schedule', async () => {
      const id = newId('n');
      const { notice } = await store.notices.create(
        id,
        input({ scheduledAt: new Date(Date.now() + 3_600_000) }),
        'a',
        null,
        new Date(),
        'pending_approval',
      );
      expect(notice.status).toBe('pending_approval');
      expect(await store.notices.list({ limit: 100, status: 'pending_approval' })).toEqual([notice]);
    });

    it('rewrites revision 1 of an unsent notice in place, only from the statuses named', async () => {
      const id = newId('n');
      const created = new Date('2026-11-26T10:00:00.500Z');
      await store.notices.create(id, input({ department: '防災課' }), '山田', null, created, 'returned');
      await store.notices.saveDispatchState(id, 1, { mail: { after: 1, nextBatch: 1, done: false } });
      const later = new Date('2026-11-26T10:30:07.900Z');
      const changed = input({ title: '避難所の開設（場所を変更）', severity: 'emergency', department: null });
      expect(
        await store.notices.rewriteUnsent(id, changed, { from: ['pending_approval'], to: 'queued' }, later),
      ).toBeUndefined();
      const rewritten = await store.notices.rewriteUnsent(
        id,
        changed,
        { from: ['returned'], to: 'pending_approval' },
        later,
      );
      expect(rewritten?.notice).toMatchObject({
        status: 'pending_approval',
        currentRevision: 1,
        severity: 'emergency',
        title: '避難所の開設（場所を変更）',
        createdBy: '山田',
      });
      expect(rewritten?.revision).toMatchObject({
        revision: 1,
        kind: 'alert',
        title: '避難所の開設（場所を変更）',
        department: null,
        createdBy: '山田',
        capIdentifier: `jp-432105-hibiki-${id}-r1`,
      });
      // CAP sent is when it will go out, not when it was first written.
      expect(rewritten?.revision.sentAt.toISOString()).toBe('2026-11-26T10:30:07.000Z');
      expect(rewritten?.revision.createdAt.toISOString()).toBe(created.toISOString());
      expect(await store.notices.dispatchState(id, 1)).toEqual({});
      expect(await store.notices.revisions(id)).toHaveLength(1);
    });

    it('never rewrites a notice that has a revision 2', async () => {
      const id = newId('n');
      await store.notices.create(id, input(), 'a', null);
      await store.notices.addRevision(id, input({ kind: 'update' }), 'a');
      await store.notices.setStatus(id, 'returned');
      expect(
        await store.notices.rewriteUnsent(id, input({ title: 'x' }), { from: ['returned'], to: 'queued' }),
      ).toBeUndefined();
      expect((await store.notices.getRevision(id, 1))?.title).toBe(input().title);
    });

    it('moves a status only from the statuses named', async () => {
      const id = newId('n');
      await store.notices.create(id, input(), 'a', null, new Date(), 'pending_approval');
      expect(await store.notices.moveStatus(id, ['returned'], 'cancelled')).toBe(false);
      expect(await store.notices.moveStatus(id, ['pending_approval', 'returned'], 'returned')).toBe(true);
      expect((await store.notices.get(id))?.status).toBe('returned');
    });

    it('publishes neither an unapproved notice nor one withdrawn before approval; a sent one and its cancellation, yes', async () => {
      const pending = newId('n');
      await store.notices.create(pending, input(), 'a', null, new Date(), 'pending_approval');
      expect(await store.notices.getPublished(pending)).toBeUndefined();
      await store.notices.moveStatus(pending, ['pending_approval'], 'returned');
      expect(await store.notices.getPublished(pending)).toBeUndefined();
      await store.notices.moveStatus(pending, ['returned'], 'cancelled');
      expect(await store.notices.get(pending)).toMatchObject({ status: 'cancelled' });
      expect(await store.notices.getPublished(pending)).toBeUndefined();

      const sent = newId('n');
      await store.notices.create(sent, input(), 'a', null);
      expect(await store.notices.getPublished(sent)).toMatchObject({ id: sent, status: 'queued' });
      await store.notices.addRevision(sent, input({ kind: 'cancel' }), 'a');
      expect(await store.notices.getPublished(sent)).toMatchObject({ id: sent, status: 'cancelled' });
      expect(await store.notices.getPublished('nmissing')).toBeUndefined();
    });
  });

  describe('approvals', () => {
    it('records the steps of a notice in order, with actor, token id and comment', async () => {
      const id = newId('n');
      const other = newId('n');
      await store.notices.create(id, input(), '山田', null, new Date(), 'pending_approval');
      await store.notices.create(other, input(), '山田', null, new Date(), 'pending_approval');
      const at = new Date('2026-11-26T10:00:00.123Z');
      const submitted = await store.approvals.record(id, 'submitted', { name: '山田', tokenId: 7 }, null, at);
      expect(submitted).toEqual({
        id: expect.any(Number),
        noticeId: id,
        decision: 'submitted',
        actor: '山田',
        actorTokenId: 7,
        comment: null,
        at,
      });
      await store.approvals.record(other, 'submitted', { name: '佐藤', tokenId: 9 });
      await store.approvals.record(id, 'returned', { name: '鈴木', tokenId: 8 }, '避難所名を確認してください');
      await store.approvals.record(id, 'submitted', { name: '山田', tokenId: 7 });
      await store.approvals.record(id, 'approved', { name: '鈴木', tokenId: 8 });
      const steps = await store.approvals.list(id);
      expect(steps.map((s) => [s.decision, s.actor, s.actorTokenId, s.comment])).toEqual([
        ['submitted', '山田', 7, null],
        ['returned', '鈴木', 8, '避難所名を確認してください'],
        ['submitted', '山田', 7, null],
        ['approved', '鈴木', 8, null],
      ]);
      expect(steps.every((s) => s.noticeId === id && s.at instanceof Date)).toBe(true);
      expect((await store.approvals.list(other)).map((s) => s.actor)).toEqual(['佐藤']);
      expect(await store.approvals.list('nmissing')).toEqual([]);
    });
  });

  describe('subscribers and audience', () => {
    let ids: Record<string, number>;

    beforeAll(async () => {
      await store.subscribers.importMail([
        { email: 'shelter-city@example.jp', topics: ['shelter'], areas: [], locale: 'ja' },
        { email: 'shelter-east@example.jp', topics: ['shelter'], areas: ['432113'], locale: 'en' },
        { email: 'events-city@example.jp', topics: ['events'], areas: [], locale: 'ja' },
        { email: 'gone@example.jp', topics: ['shelter'], areas: [], locale: 'ja' },
      ]);
      const all = await store.subscribers.audiencePage(
        { channel: 'mail', topics: [], areas: [], ignoreTopics: true, severity: 'info' as const },
        0,
        100,
      );
      const byAddress: Record<string, number> = {};
      for (const id of all) byAddress[(await store.subscribers.contact(id))?.address as string] = id;
      ids = byAddress;
      await store.subscribers.deactivateContacts([ids['gone@example.jp'] as number], 'unsubscribed');
    });

    const audience = async (topics: string[], areas: string[], ignoreTopics = false) => {
      const page = await store.subscribers.audiencePage(
        { channel: 'mail', topics, areas, ignoreTopics, severity: 'info' },
        0,
        100,
      );
      const out: string[] = [];
      for (const id of page) out.push((await store.subscribers.contact(id))?.address as string);
      return out.sort();
    };

    it('matches a topic, and the whole city or the notice area', async () => {
      expect(await audience(['shelter'], [])).toEqual(['shelter-city@example.jp', 'shelter-east@example.jp']);
      expect(await audience(['shelter'], ['432105'])).toEqual(['shelter-city@example.jp']);
      expect(await audience(['shelter'], ['432113'])).toEqual(['shelter-city@example.jp', 'shelter-east@example.jp']);
    });

    it('an emergency reaches every active contact in its areas, whatever the topics', async () => {
      expect(await audience(['shelter'], ['432105'], true)).toEqual([
        'events-city@example.jp',
        'shelter-city@example.jp',
      ]);
    });

    it('pages in contact id order after a cursor', async () => {
      const criteria = {
        channel: 'mail' as const,
        topics: [],
        areas: [],
        ignoreTopics: true,
        severity: 'info' as const,
      };
      const first = await store.subscribers.audiencePage(criteria, 0, 1);
      const rest = await store.subscribers.audiencePage(criteria, first[0] as number, 100);
      expect(rest.every((id) => id > (first[0] as number))).toBe(true);
      expect(first.length + rest.length).toBe(3);
    });

    it('merges a re-import, keeps the whole city, and never re-subscribes an unsubscribed address', async () => {
      const outcome = await store.subscribers.importMail([
        { email: 'shelter-city@example.jp', topics: ['events'], areas: ['432113'], locale: 'ja' },
        { email: 'gone@example.jp', topics: ['shelter'], areas: [], locale: 'ja' },
      ]);
      expect(outcome).toEqual({ created: 0, updated: 1, skippedUnsubscribed: [1] });
      expect(await audience(['events'], ['432105'])).toEqual(['events-city@example.jp', 'shelter-city@example.jp']);
      expect((await store.subscribers.contact(ids['gone@example.jp'] as number))?.active).toBe(false);
    });
  });

  describe('deliveries', () => {
    it('inserts once per recipient, sends only what is queued, and counts by status', async () => {
      const id = newId('n');
      await store.notices.create(id, input(), 'a', null);
      const contacts = await store.subscribers.audiencePage(
        { channel: 'mail', topics: [], areas: [], ignoreTopics: true, severity: 'info' as const },
        0,
        10,
      );
      const rows = contacts.map((c) => ({
        noticeId: id,
        revision: 1,
        channel: 'mail' as const,
        recipient: String(c),
        contactId: c,
        batch: 0,
      }));
      await store.deliveries.insertQueued(rows);
      await store.deliveries.insertQueued(rows); // a dispatch taken up again adds nothing
      const key = { noticeId: id, revision: 1, channel: 'mail' as const, batch: 0 };
      const pending = await store.deliveries.pending(key);
      expect(pending).toHaveLength(contacts.length);
      expect(pending.every((p) => p.address?.endsWith('@example.jp'))).toBe(true);

      const [a, b, c] = pending;
      await store.deliveries.countAttempt(pending.map((p) => p.id));
      await store.deliveries.markSent([{ id: (a as { id: number }).id, providerId: '<m1@x>' }]);
      await store.deliveries.markFinal([{ id: (b as { id: number }).id, reason: '550 5.1.1' }], 'failed');
      // A late duplicate outcome does not overwrite a final one.
      await store.deliveries.markSent([{ id: (b as { id: number }).id }]);
      expect((await store.deliveries.pending(key)).map((p) => p.id)).toEqual([(c as { id: number }).id]);
      // A provider outage gives back the attempt of what is still queued only, and never below 0.
      await store.deliveries.refundAttempt(pending.map((p) => p.id));
      await store.deliveries.refundAttempt([(c as { id: number }).id]);
      expect((await store.deliveries.pending(key)).map((p) => p.attempts)).toEqual([0]);

      const counts = await store.deliveries.counts(id);
      const of = (status: string) => counts.find((x) => x.status === status)?.count ?? 0;
      expect([of('sent'), of('failed'), of('queued')]).toEqual([1, 1, contacts.length - 2]);
      const [failedRow] = await store.deliveries.list(id, { status: 'failed', limit: 5 });
      expect(failedRow).toMatchObject({ attempts: 1, lastError: '550 5.1.1' });

      expect(await store.deliveries.requeueFailed(id, 1)).toEqual({
        rows: 1,
        batches: [{ channel: 'mail', batch: 0 }],
      });
      expect(await store.deliveries.failRemaining(key, 'gave up')).toBe(contacts.length - 1);
      expect(await store.deliveries.skipSuperseded(id, 2, 'superseded')).toBe(0);
    });

    it('pages deliveries by cursor and filter', async () => {
      const id = newId('n');
      await store.notices.create(id, input(), 'a', null);
      await store.deliveries.insertQueued(
        [1, 2, 3].map((n) => ({
          noticeId: id,
          revision: 1,
          channel: 'mail' as const,
          recipient: `x${n}`,
          contactId: null,
          batch: 0,
        })),
      );
      const page1 = await store.deliveries.list(id, { limit: 2 });
      const page2 = await store.deliveries.list(id, { limit: 2, after: page1[1]?.id as number });
      expect([page1.length, page2.length]).toEqual([2, 1]);
      expect(await store.deliveries.list(id, { channel: 'cap', limit: 5 })).toEqual([]);
    });
  });

  describe('tokens, audit, settings', () => {
    it('stores only a hash, verifies, and revokes', async () => {
      const { id, token } = await store.tokens.create('防災課 山田', 'approver');
      expect(token).toMatch(/^hbk_/);
      expect(JSON.stringify(await store.tokens.list())).not.toContain(token);
      expect(await store.tokens.verify(token)).toMatchObject({ tokenId: id, role: 'approver' });
      expect(await store.tokens.verify(`${token}x`)).toBeUndefined();
      expect(await store.tokens.revoke(id)).toBe(true);
      expect(await store.tokens.revoke(id)).toBe(false);
      expect(await store.tokens.verify(token)).toBeUndefined();
    });

    it('records audit entries newest first', async () => {
      await store.audit.record('山田', 'notice.create', 'n1', { severity: 'warning' });
      await store.audit.record('佐藤', 'notice.cancel', 'n1');
      const [last, before] = await store.audit.list({ limit: 2 });
      expect(last).toMatchObject({ actor: '佐藤', action: 'notice.cancel', detail: null });
      expect(before).toMatchObject({ actor: '山田', detail: { severity: 'warning' } });
    });

    it('makes a setting once, whoever asks first', async () => {
      const [a, b] = await Promise.all([
        store.settings.getOrCreate('k', () => 'first'),
        store.settings.getOrCreate('k', () => 'second'),
      ]);
      expect(a).toBe(b);
    });
  });
});
