import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatchJobId } from '../../src/queue/names.ts';
import { aNotice, createHarness, type ErrorJson, type Harness } from '../api/harness.ts';
import { type ConsoleClient, consoleClient, signedInConsole } from '../helpers/console.ts';
import { STORE_KINDS } from '../helpers/db.ts';

/**
 * Findings 2 and 10 of the security review: a revision must not carry an emergency past
 * the two-person rule, and a waiting notice is its author's (or an approver's) to withdraw
 * or resubmit, never a colleague's.
 */

type As = 'author' | 'approver' | 'admin' | { token: string };

interface AcceptedJson {
  id: string;
  revision: number;
  status: string;
  sent?: boolean;
  approval?: { required: number; received: number };
}

interface DetailJson {
  currentRevision: number;
  status: string;
  severity: string;
  approval: { required: number; received: number; approvals: { decision: string; actor: string }[] };
  proposal: { revision: number; kind: string; title: string; severity: string; proposedBy: string } | null;
}

async function call<T>(h: Harness, method: string, path: string, as: As, json?: unknown) {
  const res = await h.request(method, path, { as, ...(json !== undefined ? { json } : {}) });
  return { status: res.status, body: (await res.json()) as T & ErrorJson };
}

const post = async (h: Harness, as: As, overrides: Record<string, unknown> = {}) => {
  const res = await call<AcceptedJson>(h, 'POST', '/v1/notices', as, aNotice(overrides));
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id;
};
const detail = async (h: Harness, id: string) => (await call<DetailJson>(h, 'GET', `/v1/notices/${id}`, 'author')).body;
const revise = (h: Harness, id: string, as: As, json: Record<string, unknown>) =>
  call<AcceptedJson>(h, 'POST', `/v1/notices/${id}/revisions`, as, json);
const cancel = (h: Harness, id: string, as: As, reason?: string) =>
  call<AcceptedJson>(h, 'POST', `/v1/notices/${id}/cancel`, as, reason ? { reason } : {});
const approve = (h: Harness, id: string, as: As) =>
  call<{ released: boolean; status: string; revision: number }>(h, 'POST', `/v1/notices/${id}/approve`, as, {});
const dispatchJob = (h: Harness, id: string, revision: number) =>
  h.deps.queues.dispatch.getJob(dispatchJobId(id, revision));

describe.each(STORE_KINDS)('a revision cannot bypass the two-person rule (EMERGENCY_APPROVALS=2, %s)', (kind) => {
  let h: Harness;
  let approver2: { token: string };
  beforeAll(async () => {
    h = await createHarness(kind, { EMERGENCY_APPROVALS: '2' });
    approver2 = { token: (await h.deps.store.tokens.create('staff-approver-2', 'approver')).token };
  });
  afterAll(async () => {
    await h.dispose();
  });

  it("an approver's info notice made an emergency by a revision waits for a second approver; nothing is sent", async () => {
    const id = await post(h, 'approver');
    const res = await revise(h, id, 'approver', { severity: 'emergency', title: '避難指示の発令' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id, revision: 2, status: 'pending_approval' });
    // The approver's own counts as one of the two, as it does for a first emergency.
    expect(res.body.approval).toMatchObject({ required: 2, received: 1 });
    expect(await dispatchJob(h, id, 2)).toBeUndefined();
    expect(await h.deps.store.notices.getRevision(id, 2)).toBeUndefined();
    const waiting = await detail(h, id);
    expect(waiting.currentRevision).toBe(1);
    expect(waiting.severity).toBe('info');
    expect(waiting.proposal).toMatchObject({ revision: 2, kind: 'update', severity: 'emergency' });

    const again = await approve(h, id, 'approver');
    expect(again.status).toBe(403);
    expect(again.body.error.code).toBe('own_submission');
    expect(await dispatchJob(h, id, 2)).toBeUndefined();

    const second = await approve(h, id, approver2);
    expect(second.status).toBe(200);
    expect(second.body.released).toBe(true);
    expect((await dispatchJob(h, id, 2))?.opts.priority).toBe(1);
    const sent = await detail(h, id);
    expect(sent).toMatchObject({ currentRevision: 2, severity: 'emergency', proposal: null });
    const r2 = await h.deps.store.notices.getRevision(id, 2);
    expect(r2).toMatchObject({
      kind: 'update',
      severity: 'emergency',
      title: '避難指示の発令',
      createdBy: 'staff-approver',
    });
  });

  it("an emergency's cancellation, even an approver's, needs the second approval too", async () => {
    const id = await post(h, 'approver', { severity: 'emergency' });
    expect(await approve(h, id, approver2)).toMatchObject({ status: 200 });
    const res = await cancel(h, id, 'approver', '誤報のため');
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'pending_approval', revision: 2, sent: false });
    expect((await h.deps.store.notices.get(id))?.status).not.toBe('cancelled');
    expect(await dispatchJob(h, id, 2)).toBeUndefined();
    expect((await approve(h, id, approver2)).body.released).toBe(true);
    expect((await h.deps.store.notices.get(id))?.status).toBe('cancelled');
    expect((await h.deps.store.notices.getRevision(id, 2))?.kind).toBe('cancel');
  });

  it('lowering an emergency to info is still a change to an emergency, held for approval', async () => {
    const id = await post(h, 'approver', { severity: 'emergency' });
    await approve(h, id, approver2);
    const res = await revise(h, id, 'approver', { severity: 'info' });
    expect(res.body.status).toBe('pending_approval');
    expect((await detail(h, id)).severity).toBe('emergency');
  });
});

describe('authors and proposals (EMERGENCY_APPROVALS=1, sqlite)', () => {
  let h: Harness;
  let author2: { token: string };
  beforeAll(async () => {
    h = await createHarness('sqlite');
    author2 = { token: (await h.deps.store.tokens.create('staff-author-2', 'author')).token };
  });
  afterAll(async () => {
    await h.dispose();
  });

  /** An emergency that went out: posted by the approver, who needs nobody else with one approval. */
  const sentEmergency = () => post(h, 'approver', { severity: 'emergency', title: '避難指示（鹿本地区）' });

  it("an author's correction of an emergency goes for approval instead of a 403, and is sent once approved", async () => {
    const id = await sentEmergency();
    const res = await revise(h, id, 'author', { body: '避難所を鹿本体育館に変更します。' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'pending_approval', revision: 2, approval: { required: 1, received: 0 } });
    expect(await dispatchJob(h, id, 2)).toBeUndefined();
    const approved = await approve(h, id, 'approver');
    expect(approved.body.released).toBe(true);
    expect(await dispatchJob(h, id, 2)).toBeDefined();
    expect(await h.deps.store.notices.getRevision(id, 2)).toMatchObject({
      body: '避難所を鹿本体育館に変更します。',
      createdBy: 'staff-author',
    });
    const actions = (await h.deps.store.audit.list({ limit: 100 }))
      .filter((e) => e.target === id)
      .map((e) => [e.action, e.actor])
      .reverse();
    expect(actions).toEqual([
      ['notice.create', 'staff-approver'],
      ['notice.propose', 'staff-author'],
      ['notice.approve', 'staff-approver'],
      ['notice.correct', 'staff-approver'],
    ]);
  });

  it("an author's cancellation of an emergency waits; a return drops it and the notice stays as sent", async () => {
    const id = await sentEmergency();
    const res = await cancel(h, id, 'author', '誤って配信しました');
    expect(res.body).toMatchObject({ status: 'pending_approval', sent: false });
    const returned = await call(h, 'POST', `/v1/notices/${id}/return`, 'approver', { comment: '取消ではなく訂正で' });
    expect(returned.status).toBe(200);
    const after = await detail(h, id);
    expect(after.proposal).toBeNull();
    expect(after.currentRevision).toBe(1);
    expect(after.status).not.toBe('cancelled');
    expect(after.approval.approvals.at(-1)).toMatchObject({ decision: 'returned', actor: 'staff-approver' });
    expect(await dispatchJob(h, id, 2)).toBeUndefined();
  });

  it("while one proposal waits, a colleague's change is 409 and no direct correction slips past it", async () => {
    const id = await sentEmergency();
    expect((await revise(h, id, 'author', { title: '避難指示（鹿本地区・訂正）' })).body.status).toBe(
      'pending_approval',
    );
    const other = await revise(h, id, author2, { title: '別の訂正' });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('proposal_pending');
    expect(other.body.error.message).toContain('staff-author');
    // Its own author may replace it; the replacement waits like the first.
    const replaced = await revise(h, id, 'author', { title: '避難指示（鹿本地区・再訂正）' });
    expect(replaced.body.status).toBe('pending_approval');
    expect((await detail(h, id)).proposal?.title).toBe('避難指示（鹿本地区・再訂正）');
    // An approver's change replaces it and, needing one approval, goes out at once.
    const direct = await revise(h, id, 'approver', { title: '避難指示（鹿本地区）承認者の訂正' });
    expect(direct.body).toMatchObject({ status: 'queued', revision: 2 });
    expect((await detail(h, id)).proposal).toBeNull();
  });

  it("an author cannot withdraw or resubmit a colleague's waiting notice; its author and approvers can", async () => {
    const submitted = await call<AcceptedJson>(h, 'POST', '/v1/notices', 'author', {
      ...aNotice({ severity: 'emergency' }),
      requestApproval: true,
    });
    const id = submitted.body.id;
    const refused = await cancel(h, id, author2);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('not_your_notice');
    expect(refused.body.error.message).toContain('staff-author');
    expect((await h.deps.store.notices.get(id))?.status).toBe('pending_approval');

    expect((await call(h, 'POST', `/v1/notices/${id}/return`, 'approver', { comment: '日時を確認' })).status).toBe(200);
    const resubmit = await call(h, 'POST', `/v1/notices/${id}/resubmit`, author2, { title: '乗っ取り' });
    expect(resubmit.status).toBe(403);
    expect(resubmit.body.error.code).toBe('not_your_notice');
    expect(
      (await call(h, 'POST', `/v1/notices/${id}/resubmit`, 'author', { title: '日時を確認しました' })).status,
    ).toBe(200);
    // An approver may withdraw anyone's.
    expect((await cancel(h, id, 'approver')).body).toMatchObject({ status: 'cancelled', sent: false });
  });

  it("the console sends an author's confirmed correction of an emergency for approval, and shows it to approvers", async () => {
    const id = await sentEmergency();
    const author: ConsoleClient = await signedInConsole(h.app, h.deps.store.tokens, 'author', '広報課 作成者');
    const approver = await signedInConsole(h.app, h.deps.store.tokens, 'approver', '防災課 承認者');
    const form = await author.page(`/console/notices/${id}/correct`);
    const nonce = /name="nonce" value="([^"]+)"/.exec(form)?.[1] ?? '';
    const fields = {
      nonce,
      baseRevision: '1',
      title: '避難指示（鹿本地区）',
      body: '避難所を鹿本中学校に変更します。',
      severity: 'emergency',
      category: '避難情報',
      topics: ['shelter'],
      channels: ['mail', 'cap'],
      expiresAt: '',
      department: '',
      link: '',
    };
    const res = await author.post(`/console/notices/${id}/correct`, { ...fields, _action: 'confirm' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/notices/${id}?done=proposed`);
    expect(await author.page(`/console/notices/${id}?done=proposed`)).toContain('承認を申請しました');

    const queue = await approver.page('/console/approvals');
    expect(queue).toContain(`/console/notices/${id}`);
    const page = await approver.page(`/console/notices/${id}`);
    expect(page).toContain('訂正（第2版）の承認待ち');
    expect(page).toContain('避難所を鹿本中学校に変更します。');
    const approved = await approver.post(`/console/notices/${id}/approve`, { comment: '' });
    expect(approved.headers.get('location')).toBe(`/console/notices/${id}?done=approved`);
    expect((await h.deps.store.notices.getRevision(id, 2))?.body).toBe('避難所を鹿本中学校に変更します。');
    // A stranger's browser has no say in it.
    expect((await consoleClient(h.app).get(`/console/notices/${id}`)).status).toBe(303);
  });
});
