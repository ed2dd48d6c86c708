import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StaffRole } from '../../src/domain/staff.ts';
import { dispatchJobId } from '../../src/queue/names.ts';
import { type RunningWorkers, startWorkers } from '../../workers/index.ts';
import { STORE_KINDS } from '../helpers/db.ts';
import { waitUntil } from '../helpers/wait.ts';
import { aNotice, createHarness, type ErrorJson, type Harness } from './harness.ts';

type As = StaffRole | { token: string };

interface ApprovalJson {
  required: number;
  received: number;
  approvals: { decision: string; actor: string; comment: string | null; at: string }[];
}

interface ApprovalResultJson {
  id: string;
  revision: number;
  status: string;
  released: boolean;
  approval: ApprovalJson;
}

interface DetailJson {
  status: string;
  currentRevision: number;
  revisions: { revision: number; title: string; body: string; severity: string; sentAt: string }[];
  approval: ApprovalJson;
}

async function call<T>(h: Harness, method: string, path: string, as: As, json?: unknown) {
  const res = await h.request(method, path, { as, ...(json !== undefined ? { json } : {}) });
  return { status: res.status, body: (await res.json()) as T };
}

/** Posts with requestApproval and returns the id; the notice must be waiting for approval. */
async function submit(h: Harness, as: As, overrides: Record<string, unknown> = {}): Promise<string> {
  const res = await call<{ id: string; status: string }>(h, 'POST', '/v1/notices', as, {
    ...aNotice({ severity: 'emergency', category: '避難情報', title: '避難指示の発令' }),
    requestApproval: true,
    ...overrides,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body.status).toBe('pending_approval');
  return res.body.id;
}

const approve = (h: Harness, id: string, as: As, comment?: string) =>
  call<ApprovalResultJson & ErrorJson>(h, 'POST', `/v1/notices/${id}/approve`, as, comment ? { comment } : {});

const detail = async (h: Harness, id: string) => (await call<DetailJson>(h, 'GET', `/v1/notices/${id}`, 'author')).body;

const dispatchJob = (h: Harness, id: string, revision = 1) =>
  h.deps.queues.dispatch.getJob(dispatchJobId(id, revision));

async function auditOf(h: Harness, id: string) {
  const entries = await h.deps.store.audit.list({ limit: 1000 });
  return entries.filter((e) => e.target === id).reverse();
}

/** A second (or third) approver: a token of its own with a name of its own. */
async function approverToken(h: Harness, name: string): Promise<{ token: string }> {
  return { token: (await h.deps.store.tokens.create(name, 'approver')).token };
}

describe('approval with one approver (EMERGENCY_APPROVALS=1, sqlite)', () => {
  let h: Harness;
  let approver2: { token: string };
  beforeAll(async () => {
    h = await createHarness('sqlite');
    approver2 = await approverToken(h, 'staff-approver-2');
  });
  afterAll(async () => {
    await h.dispose();
  });

  it('an author posting an emergency without requestApproval gets 403 naming requestApproval', async () => {
    const res = await call<ErrorJson>(h, 'POST', '/v1/notices', 'author', aNotice({ severity: 'emergency' }));
    expect(res.status).toBe(403);
    expect(res.body.error.message).toContain('requestApproval: true');
    expect(res.body.error.message_en).toContain('requestApproval: true');
    expect(await h.deps.store.notices.list({ limit: 1000 })).toEqual([]);
  });

  it("an author's emergency with requestApproval waits, queues nothing, and is listed as pending_approval", async () => {
    const id = await submit(h, 'author');
    expect(await dispatchJob(h, id)).toBeUndefined();
    const d = await detail(h, id);
    expect(d.status).toBe('pending_approval');
    expect(d.approval).toEqual({
      required: 1,
      received: 0,
      approvals: [{ decision: 'submitted', actor: 'staff-author', comment: null, at: expect.any(String) }],
    });
    const list = await call<{ items: { id: string; status: string }[] }>(
      h,
      'GET',
      '/v1/notices?status=pending_approval&limit=100',
      'author',
    );
    expect(list.body.items.map((i) => i.id)).toContain(id);
    expect(list.body.items.every((i) => i.status === 'pending_approval')).toBe(true);
    const [entry] = await auditOf(h, id);
    expect(entry).toMatchObject({ action: 'notice.submit', actor: 'staff-author', detail: { required: 1 } });
  });

  it('an author cannot approve; an approver approves and it is queued with its dispatch job, sent as of now', async () => {
    const id = await submit(h, 'author');
    const byAuthor = await approve(h, id, 'author');
    expect(byAuthor.status).toBe(403);
    expect(byAuthor.body.error.code).toBe('forbidden');

    const before = Math.floor(Date.now() / 1000) * 1000;
    const ok = await approve(h, id, 'approver', '確認しました');
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ id, revision: 1, status: 'queued', released: true });
    expect(ok.body.approval).toMatchObject({ required: 1, received: 1 });
    expect(ok.body.approval.approvals.map((s) => [s.decision, s.actor, s.comment])).toEqual([
      ['submitted', 'staff-author', null],
      ['approved', 'staff-approver', '確認しました'],
    ]);
    const job = await dispatchJob(h, id);
    expect(job?.data).toEqual({ noticeId: id, revision: 1 });
    expect(job?.opts.priority).toBe(1);
    const revision = await h.deps.store.notices.getRevision(id, 1);
    expect(revision?.sentAt.getTime()).toBeGreaterThanOrEqual(before);

    const again = await approve(h, id, approver2);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('not_pending_approval');
    expect((await auditOf(h, id)).map((e) => [e.action, e.actor])).toEqual([
      ['notice.submit', 'staff-author'],
      ['notice.approve', 'staff-approver'],
    ]);
  });

  it('nobody approves their own submission, even an approver who asked for review', async () => {
    const id = await submit(h, 'approver');
    const own = await approve(h, id, 'approver');
    expect(own.status).toBe(403);
    expect(own.body.error.code).toBe('own_submission');
    expect(own.body.error.message_en).toMatch(/another approver/);
    expect((await detail(h, id)).approval.received).toBe(0);
    expect((await approve(h, id, approver2)).body.status).toBe('queued');
  });

  it('return needs a comment; returned, then resubmitted with changes, then approved: sent with the new text', async () => {
    const id = await submit(h, 'author');
    for (const json of [{}, { comment: '   ' }]) {
      const res = await call<ErrorJson>(h, 'POST', `/v1/notices/${id}/return`, 'approver', json);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('comment_required');
      expect(Object.keys(res.body.error.fields ?? {})).toEqual(['comment']);
    }
    const returned = await call<ApprovalResultJson>(h, 'POST', `/v1/notices/${id}/return`, 'approver', {
      comment: '避難所の名前が違います',
    });
    expect(returned.status).toBe(200);
    expect(returned.body).toMatchObject({ status: 'returned', released: false });
    expect((await detail(h, id)).status).toBe('returned');
    expect((await approve(h, id, approver2)).status).toBe(409);
    expect((await call(h, 'POST', `/v1/notices/${id}/return`, 'approver', { comment: '再度' })).status).toBe(409);

    const resubmitted = await call<ApprovalResultJson>(h, 'POST', `/v1/notices/${id}/resubmit`, 'author', {
      body: '市民体育館ではなく第二体育館を避難所として開設します。',
      department: '危機管理防災課',
      comment: '避難所名を直しました',
    });
    expect(resubmitted.status, JSON.stringify(resubmitted.body)).toBe(200);
    expect(resubmitted.body).toMatchObject({ status: 'pending_approval', released: false });
    expect(resubmitted.body.approval.received).toBe(0);
    expect(await dispatchJob(h, id)).toBeUndefined();
    const d = await detail(h, id);
    expect(d.status).toBe('pending_approval');
    expect(d.revisions).toHaveLength(1);
    expect(d.revisions[0]).toMatchObject({
      revision: 1,
      title: '避難指示の発令',
      body: '市民体育館ではなく第二体育館を避難所として開設します。',
      department: '危機管理防災課',
    });
    expect(d.approval.approvals.map((s) => [s.decision, s.actor, s.comment])).toEqual([
      ['submitted', 'staff-author', null],
      ['returned', 'staff-approver', '避難所の名前が違います'],
      ['submitted', 'staff-author', '避難所名を直しました'],
    ]);

    const ok = await approve(h, id, 'approver');
    expect(ok.body).toMatchObject({ status: 'queued', released: true });
    expect(await dispatchJob(h, id)).toBeDefined();
    const audit = await auditOf(h, id);
    expect(audit.map((e) => [e.action, e.actor])).toEqual([
      ['notice.submit', 'staff-author'],
      ['notice.return', 'staff-approver'],
      ['notice.resubmit', 'staff-author'],
      ['notice.approve', 'staff-approver'],
    ]);
    expect(audit[1]?.detail).toEqual({ comment: '避難所の名前が違います' });
    expect(audit[2]?.detail).toMatchObject({ changed: ['body', 'department'] });
  });

  it('resubmit is only for a returned notice, and validates like a post', async () => {
    const id = await submit(h, 'author');
    const early = await call<ErrorJson>(h, 'POST', `/v1/notices/${id}/resubmit`, 'author', { title: '早すぎる' });
    expect(early.status).toBe(409);
    expect(early.body.error.code).toBe('not_returned');

    await call(h, 'POST', `/v1/notices/${id}/return`, 'approver', { comment: '地域を指定してください' });
    const badTopic = await call<ErrorJson>(h, 'POST', `/v1/notices/${id}/resubmit`, 'author', {
      topics: ['no-such-topic'],
    });
    expect(badTopic.status).toBe(400);
    expect(Object.keys(badTopic.body.error.fields ?? {})).toEqual(['topics']);
    const badExpiry = await call<ErrorJson>(h, 'POST', `/v1/notices/${id}/resubmit`, 'author', {
      expiresAt: '2001-01-01T00:00:00+09:00',
    });
    expect(badExpiry.status).toBe(400);
    expect(Object.keys(badExpiry.body.error.fields ?? {})).toEqual(['expiresAt']);
    const unknown = await call<ErrorJson>(h, 'POST', `/v1/notices/${id}/resubmit`, 'author', { requestApproval: true });
    expect(unknown.status).toBe(400);
    // Nothing changed by the refused requests.
    expect((await detail(h, id)).status).toBe('returned');
  });

  it('a non-emergency submitted for review needs one approval; a future schedule is kept, a passed one sends now', async () => {
    const later = new Date(Date.now() + 3_600_000);
    const scheduled = await submit(h, 'author', { severity: 'info', scheduledAt: later.toISOString() });
    expect((await detail(h, scheduled)).approval.required).toBe(1);
    const ok = await approve(h, scheduled, 'approver');
    expect(ok.body).toMatchObject({ status: 'scheduled', released: true });
    const job = await dispatchJob(h, scheduled);
    expect(await job?.isDelayed()).toBe(true);
    expect((await h.deps.store.notices.getRevision(scheduled, 1))?.scheduledAt?.getTime()).toBe(later.getTime());

    // The time it was scheduled for passed while it waited.
    const passed = await submit(h, 'author', { severity: 'info', scheduledAt: later.toISOString() });
    const stored = await h.deps.store.notices.getRevision(passed, 1);
    if (!stored) throw new Error('no revision 1');
    await h.deps.store.notices.rewriteUnsent(
      passed,
      { ...stored, scheduledAt: new Date(Date.now() - 60_000) },
      { from: ['pending_approval'], to: 'pending_approval' },
    );
    const now = await approve(h, passed, 'approver');
    expect(now.body).toMatchObject({ status: 'queued', released: true });
    expect((await h.deps.store.notices.getRevision(passed, 1))?.scheduledAt).toBeNull();
    expect(await (await dispatchJob(h, passed))?.isDelayed()).toBe(false);
  });

  it('cancelling a pending or returned notice withdraws it silently, even an emergency by its author', async () => {
    const pending = await submit(h, 'author');
    const res = await call<{ status: string; sent: boolean; revision: number }>(
      h,
      'POST',
      `/v1/notices/${pending}/cancel`,
      'author',
      { reason: '申請を取り下げます' },
    );
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: pending, revision: 1, status: 'cancelled', sent: false });
    expect(await dispatchJob(h, pending, 1)).toBeUndefined();
    expect(await dispatchJob(h, pending, 2)).toBeUndefined();
    expect(await h.deps.store.notices.revisions(pending)).toHaveLength(1);
    expect((await detail(h, pending)).status).toBe('cancelled');
    const audit = await auditOf(h, pending);
    expect(audit.at(-1)).toMatchObject({
      action: 'notice.cancel',
      actor: 'staff-author',
      detail: { sent: false, reason: '申請を取り下げます', withdrawn: 'pending_approval' },
    });
    expect((await approve(h, pending, 'approver')).status).toBe(409);

    const returned = await submit(h, 'author');
    await call(h, 'POST', `/v1/notices/${returned}/return`, 'approver', { comment: '不要です' });
    const cancelled = await call<{ sent: boolean }>(h, 'POST', `/v1/notices/${returned}/cancel`, 'author', {});
    expect(cancelled.body.sent).toBe(false);
    expect(await dispatchJob(h, returned, 2)).toBeUndefined();
    const resubmit = await call<ErrorJson>(h, 'POST', `/v1/notices/${returned}/resubmit`, 'author', { title: 'x' });
    expect(resubmit.status).toBe(409);
  });

  it('a correction or retry of a notice not yet approved is 409 not_approved, saying why', async () => {
    const id = await submit(h, 'author');
    const correct = await call<ErrorJson>(h, 'POST', `/v1/notices/${id}/revisions`, 'approver', { title: '訂正' });
    expect(correct.status).toBe(409);
    expect(correct.body.error.code).toBe('not_approved');
    expect(correct.body.error.message).toContain('承認待ち');
    const retry = await call<ErrorJson>(h, 'POST', `/v1/notices/${id}/retry`, 'approver');
    expect(retry.status).toBe(409);
    expect(retry.body.error.code).toBe('not_approved');
    await call(h, 'POST', `/v1/notices/${id}/return`, 'approver', { comment: '直してください' });
    const onReturned = await call<ErrorJson>(h, 'POST', `/v1/notices/${id}/revisions`, 'author', { title: '訂正' });
    expect(onReturned.body.error.message_en).toMatch(/resubmit/);
    expect(await h.deps.store.notices.revisions(id)).toHaveLength(1);
  });

  it('an expired notice cannot be approved', async () => {
    const id = await submit(h, 'author', { expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    const stored = await h.deps.store.notices.getRevision(id, 1);
    if (!stored) throw new Error('no revision 1');
    await h.deps.store.notices.rewriteUnsent(
      id,
      { ...stored, expiresAt: new Date(Date.now() - 1000) },
      { from: ['pending_approval'], to: 'pending_approval' },
    );
    const res = await approve(h, id, 'approver');
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('approval_expired');
    expect(await dispatchJob(h, id)).toBeUndefined();
  });

  it('the service says beforehand whether someone may approve, with the reason approve() would give', async () => {
    const id = await submit(h, 'author');
    const author = { tokenId: -1, name: 'someone', role: 'author' as const };
    const approver = { tokenId: -2, name: 'staff-approver', role: 'approver' as const };
    const service = h.deps;
    const { createNoticeService } = await import('../../src/services/notices/index.ts');
    const notices = createNoticeService(service);
    expect(await notices.checkApproval(id, author)).toMatchObject({ ok: false, code: 'forbidden' });
    expect(await notices.checkApproval(id, approver)).toEqual({ ok: true });
    await notices.approve(id, undefined, approver);
    const after = await notices.checkApproval(id, approver);
    expect(after).toMatchObject({ ok: false, code: 'not_pending_approval' });
    expect(await notices.approvalOf(id)).toMatchObject({ required: 1, received: 1 });
  });
});

describe.each(STORE_KINDS)('approval with two approvers (EMERGENCY_APPROVALS=2) on %s', (kind) => {
  let h: Harness;
  let approver2: { token: string };
  let approver3: { token: string };
  beforeAll(async () => {
    h = await createHarness(kind, { EMERGENCY_APPROVALS: '2' });
    approver2 = await approverToken(h, 'staff-approver-2');
    approver3 = await approverToken(h, 'staff-approver-3');
  });
  afterAll(async () => {
    await h.dispose();
  });

  it('needs two distinct approvers: the same approver twice is refused, the second one sends it', async () => {
    const id = await submit(h, 'author');
    expect((await detail(h, id)).approval.required).toBe(2);
    const first = await approve(h, id, 'approver');
    expect(first.body).toMatchObject({ status: 'pending_approval', released: false });
    expect(first.body.approval).toMatchObject({ required: 2, received: 1 });
    expect(await dispatchJob(h, id)).toBeUndefined();

    const twice = await approve(h, id, 'approver');
    expect(twice.status).toBe(403);
    expect(twice.body.error.code).toBe('already_approved');
    // Another token under the same name is the same person.
    const sameName = await approverToken(h, 'staff-approver');
    expect((await approve(h, id, sameName)).body.error.code).toBe('already_approved');
    expect((await detail(h, id)).approval.received).toBe(1);

    const second = await approve(h, id, approver2);
    expect(second.body).toMatchObject({ status: 'queued', released: true });
    expect(second.body.approval).toMatchObject({ required: 2, received: 2 });
    expect((await dispatchJob(h, id))?.opts.priority).toBe(1);
    expect(
      (await auditOf(h, id)).map((e) => [e.action, e.actor, (e.detail as { released?: boolean }).released]),
    ).toEqual([
      ['notice.submit', 'staff-author', undefined],
      ['notice.approve', 'staff-approver', false],
      ['notice.approve', 'staff-approver-2', true],
    ]);
  });

  it("an approver's own emergency counts as one approval and waits for a second approver", async () => {
    const res = await call<{ id: string; status: string }>(
      h,
      'POST',
      '/v1/notices',
      'approver',
      aNotice({ severity: 'emergency' }),
    );
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('pending_approval');
    const id = res.body.id;
    expect(await dispatchJob(h, id)).toBeUndefined();
    expect((await detail(h, id)).approval).toMatchObject({ required: 2, received: 1 });

    const own = await approve(h, id, 'approver');
    expect(own.status).toBe(403);
    expect(own.body.error.code).toBe('own_submission');
    const ok = await approve(h, id, approver2);
    expect(ok.body).toMatchObject({ status: 'queued', released: true });
    expect(await dispatchJob(h, id)).toBeDefined();
    expect((await auditOf(h, id)).map((e) => [e.action, e.actor])).toEqual([
      ['notice.submit', 'staff-approver'],
      ['notice.approve', 'staff-approver'],
      ['notice.approve', 'staff-approver-2'],
    ]);
  });

  it('a non-emergency submitted for review still needs one approval', async () => {
    const id = await submit(h, 'author', { severity: 'warning' });
    expect((await detail(h, id)).approval.required).toBe(1);
    expect((await approve(h, id, 'approver')).body).toMatchObject({ status: 'queued', released: true });
  });

  it('approvals start over after a return and resubmission', async () => {
    const id = await submit(h, 'author');
    await approve(h, id, 'approver');
    const returned = await call(h, 'POST', `/v1/notices/${id}/return`, approver2, { comment: '対象地域を確認' });
    expect(returned.status).toBe(200);
    const resubmitted = await call<ApprovalResultJson>(h, 'POST', `/v1/notices/${id}/resubmit`, 'author', {
      areas: [],
    });
    expect(resubmitted.body.approval).toMatchObject({ required: 2, received: 0 });
    // The approval before the return no longer counts: the same approver may approve the new text.
    const again = await approve(h, id, 'approver');
    expect(again.body).toMatchObject({ status: 'pending_approval', released: false });
    expect(again.body.approval.received).toBe(1);
    const done = await approve(h, id, approver3);
    expect(done.body).toMatchObject({ status: 'queued', released: true });
  });

  it('two approvals at once send it once', async () => {
    const id = await submit(h, 'author');
    await approve(h, id, 'approver');
    const both = await Promise.all([approve(h, id, approver2), approve(h, id, approver3)]);
    // The later one either counted too late (200, not released) or found it already queued (409).
    for (const r of both) expect([200, 409]).toContain(r.status);
    expect(both.filter((r) => r.status === 200 && r.body.released)).toHaveLength(1);
    expect((await detail(h, id)).status).toBe('queued');
    expect(await dispatchJob(h, id)).toBeDefined();
    const approvals = (await auditOf(h, id)).filter((e) => e.action === 'notice.approve');
    expect(approvals.length).toBe(1 + both.filter((r) => r.status === 200).length);
  });
});

/**
 * Residents must never read a notice no approver let go: not on its page, not in the feeds.
 * The withdrawn-after-one-approval case needs the public page to ask the store whether the
 * notice was ever published (store.notices.getPublished), not merely whether an approval exists.
 */
describe('public pages and feeds never show an unapproved notice (EMERGENCY_APPROVALS=2, with workers)', () => {
  let h: Harness;
  let workers: RunningWorkers;
  let approver2: { token: string };
  beforeAll(async () => {
    h = await createHarness('sqlite', { CHANNELS: 'mail,cap', EMERGENCY_APPROVALS: '2' });
    workers = startWorkers(h.deps);
    approver2 = await approverToken(h, 'staff-approver-2');
  });
  afterAll(async () => {
    await workers.close();
    await h.dispose();
  });

  const page = (id: string) => h.app.request(`/notices/${id}`);
  const capFeed = async () => (await h.app.request('/feeds/cap.atom')).text();

  it('pending, returned and withdrawn notices are 404 and absent from /feeds/cap.atom; once approved, both show it', async () => {
    const pending = await submit(h, 'author', { title: '承認待ちの避難指示' });
    const returned = await submit(h, 'author', { title: '差し戻された避難指示' });
    await call(h, 'POST', `/v1/notices/${returned}/return`, 'approver', { comment: '直してください' });
    // One approval of two, then withdrawn: it has an approval step but was never sent.
    const withdrawn = (
      await call<{ id: string }>(
        h,
        'POST',
        '/v1/notices',
        'approver',
        aNotice({ severity: 'emergency', title: '取り下げた避難指示' }),
      )
    ).body.id;
    await call(h, 'POST', `/v1/notices/${withdrawn}/cancel`, 'approver', {});
    const approved = await submit(h, 'author', { title: '承認された避難指示' });
    expect((await page(approved)).status).toBe(404);

    await approve(h, approved, 'approver');
    expect((await page(approved)).status).toBe(404);
    expect((await approve(h, approved, approver2)).body.released).toBe(true);

    const capIdentifier = (await h.deps.store.notices.getRevision(approved, 1))?.capIdentifier ?? '';
    await waitUntil(
      'the approved notice in the CAP archive',
      async () => (await h.deps.store.capMessages.get(capIdentifier)) ?? undefined,
    );
    const atom = await capFeed();
    expect(atom).toContain(h.deps.links.noticePage(approved));
    const shown = await page(approved);
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain('承認された避難指示');

    for (const [what, id] of Object.entries({ pending, returned, withdrawn })) {
      const res = await page(id);
      expect(res.status, `/notices/:id of the ${what} notice`).toBe(404);
      const html = await res.text();
      expect(html).not.toMatch(/承認待ちの避難指示|差し戻された避難指示|取り下げた避難指示/);
      expect(atom).not.toContain(id);
      expect(await dispatchJob(h, id)).toBeUndefined();
    }
  });
});
