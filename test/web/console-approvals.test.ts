import { beforeAll, describe, expect, it } from 'vitest';
import { postNotice, type StaffClient, staffClient } from '../helpers/api.ts';
import { appSuite } from '../helpers/app-suite.ts';
import { type ConsoleClient, expectCsrfRefused, signedInConsole } from '../helpers/console.ts';
import { residentEmails, waitForDeliveries } from '../helpers/seed.ts';

/** The approval screens over the real service, with real workers sending what an approver lets go. */
describe('console approvals', () => {
  const residents = residentEmails(2);
  const hibiki = appSuite({ mailTo: residents });
  /** The author submits through the API under the same name they sign in to the console with. */
  let authorApi: StaffClient;
  let author: ConsoleClient;
  let approver: ConsoleClient;

  beforeAll(async () => {
    authorApi = await staffClient(hibiki.deps, 'author', '地域振興課 作成者');
    author = await signedInConsole(hibiki.app, hibiki.deps.store.tokens, 'author', '地域振興課 作成者');
    approver = await signedInConsole(hibiki.app, hibiki.deps.store.tokens, 'approver', '危機管理監');
  });

  const submit = (title: string, overrides: Record<string, unknown> = {}) =>
    postNotice(authorApi, { title, severity: 'emergency', requestApproval: true, ...overrides });

  it('lists notices waiting for approval, oldest first, with who submitted them and when', async () => {
    const older = await submit('承認一覧 古い');
    const newer = await submit('承認一覧 新しい', { severity: 'warning' });
    const html = await approver.page('/console/approvals');
    const first = html.indexOf(`href="/console/notices/${older}"`);
    const second = html.indexOf(`href="/console/notices/${newer}"`);
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(first);
    expect(html).toContain('【緊急】承認一覧 古い');
    expect(html).toContain('地域振興課 作成者');
    expect(html).toMatch(/<time datetime="[^"]+\+09:00">/);
    expect(html).toContain('>緊急</span>');
    expect(html).toContain('>警戒</span>');
    expect(html).toContain('aria-current="page"');
  });

  it('shows the author a waiting banner and refuses their approval with a 403 page', async () => {
    const id = await submit('作成者は承認できない');
    const page = await author.page(`/console/notices/${id}`);
    expect(page).toContain('id="approval-title">承認待ち');
    expect(page).toContain('承認者(approver)が確認しています');
    expect(page).not.toContain(`action="/console/notices/${id}/approve"`);
    expect(page).not.toContain(`action="/console/notices/${id}/return"`);

    const res = await author.post(`/console/notices/${id}/approve`, { comment: '自分で承認' });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('権限がありません');
    expect((await hibiki.deps.store.notices.get(id))?.status).toBe('pending_approval');
    expect((await author.get('/console/approvals')).status).toBe(403);
  });

  it('lets an approver approve a pending notice, which is then sent', async () => {
    const id = await submit('承認して配信するテスト');
    const page = await approver.page(`/console/notices/${id}`);
    expect(page).toContain(`action="/console/notices/${id}/approve"`);
    expect(page).toContain('承認して配信');
    expect(page).toContain(`action="/console/notices/${id}/return"`);
    expect(page).toMatch(/<label for="approve-comment">/);
    expect(page).toMatch(/<label for="return-comment">/);
    expect(hibiki.sink.count).toBe(0);

    const res = await approver.post(`/console/notices/${id}/approve`, { comment: '内容を確認しました' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/notices/${id}?done=approved`);
    const t = await waitForDeliveries(hibiki.deps, id, residents.length + 1);
    expect(t).toEqual({ queued: 0, sent: residents.length + 1, failed: 0, skipped: 0 });
    await hibiki.sink.waitFor(residents.length);
    expect(hibiki.sink.envelopes.flatMap((e) => e.rcptTo).sort()).toEqual([...residents].sort());

    const after = await author.page(`/console/notices/${id}?done=approved`);
    expect(after).toMatch(/role="status">\s*<p>承認しました。通知を配信します。/);
    expect(after).not.toContain('id="approval-title"');
    // The steps in order: who, what, the comment and when.
    const steps = /<ol class="steps">(.*?)<\/ol>/s.exec(after)?.[1] ?? '';
    expect(steps.indexOf('申請')).toBeGreaterThanOrEqual(0);
    expect(steps.indexOf('承認</strong>')).toBeGreaterThan(steps.indexOf('申請'));
    expect(steps).toContain('地域振興課 作成者');
    expect(steps).toContain('危機管理監');
    expect(steps).toContain('内容を確認しました');
    expect(steps).toMatch(/<time datetime="[^"]+\+09:00">/);
    const audit = await hibiki.deps.store.audit.list({ limit: 50, action: 'notice.approve' });
    expect(audit.some((a) => a.target === id && a.actor === '危機管理監')).toBe(true);
  });

  it('keeps a return without a comment on the form, with the field error', async () => {
    const id = await submit('コメントなしの差し戻し');
    const res = await approver.post(`/console/notices/${id}/return`, { comment: '   ' });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain('role="alert"');
    expect(html).toContain('href="#return-comment"');
    expect(html).toMatch(
      /<textarea id="return-comment"[^>]*aria-invalid="true"[^>]*aria-describedby="return-comment-error/,
    );
    expect(html).toContain('<p class="error" id="return-comment-error">作成者が何を直せばよいかを書いてください');
    expect((await hibiki.deps.store.notices.get(id))?.status).toBe('pending_approval');
  });

  it('returns a notice with a comment the author then sees, with a link to edit and resubmit', async () => {
    const id = await submit('差し戻しのテスト <b>太字</b>');
    const res = await approver.post(`/console/notices/${id}/return`, {
      comment: '避難所の名前を正式名称に\n直してください <script>',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/console/notices/${id}?done=returned`);
    expect((await hibiki.deps.store.notices.get(id))?.status).toBe('returned');

    const page = await author.page(`/console/notices/${id}`);
    expect(page).toContain('差し戻されています');
    expect(page).toContain('危機管理監 さんが');
    expect(page).toContain('避難所の名前を正式名称に\n直してください &lt;script&gt;');
    expect(page).toContain(`href="/console/notices/${id}/resubmit"`);
    expect(page).not.toContain(`action="/console/notices/${id}/approve"`);
    const listed = await author.page('/console/notices?status=returned');
    expect(listed).toContain(`href="/console/notices/${id}"`);
    expect(listed).toContain('差し戻しのテスト &lt;b&gt;太字&lt;/b&gt;');
  });

  it('tells an approver who submitted a notice why they cannot approve it', async () => {
    const selfApi = await staffClient(hibiki.deps, 'approver', '危機管理監');
    const id = await postNotice(selfApi, { title: '自分の申請', severity: 'warning', requestApproval: true });
    const page = await approver.page(`/console/notices/${id}`);
    expect(page).not.toContain(`action="/console/notices/${id}/approve"`);
    expect(page).toContain('ご自身が申請したもの');
    const res = await approver.post(`/console/notices/${id}/approve`, {});
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('ご自身が申請したもの');
    expect((await hibiki.deps.store.notices.get(id))?.status).toBe('pending_approval');
  });

  it('refuses approve and return without the CSRF token', async () => {
    const id = await submit('CSRFの承認');
    for (const action of ['approve', 'return']) {
      await expectCsrfRefused(approver, `/console/notices/${id}/${action}`, { comment: 'x' });
    }
    expect((await hibiki.deps.store.notices.get(id))?.status).toBe('pending_approval');
  });

  it('escapes HTML in a title on the approvals list and the approval panel', async () => {
    const id = await submit('<img src=x onerror=alert(1)>承認');
    for (const path of ['/console/approvals', `/console/notices/${id}`]) {
      const html = await approver.page(path);
      expect(html, path).toContain('&lt;img src=x onerror=alert(1)&gt;承認');
      expect(html, path).not.toContain('<img src=x');
    }
  });
});
