import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dispatchJobId } from '../../src/queue/names.ts';
import type { StoreKind } from '../helpers/db.ts';
import { aNotice, createHarness, type ErrorJson, type Harness } from './harness.ts';

interface Accepted {
  id: string;
  revision: number;
  status: string;
}

async function post(h: Harness, json: unknown, options: { as?: 'author' | 'approver' | 'admin'; key?: string } = {}) {
  return h.request('POST', '/v1/notices', {
    as: options.as ?? 'author',
    json,
    ...(options.key ? { headers: { 'idempotency-key': options.key } } : {}),
  });
}

async function posted(
  h: Harness,
  json: unknown = aNotice(),
  as: 'author' | 'approver' = 'approver',
): Promise<Accepted> {
  const res = await post(h, json, { as });
  expect(res.status, await res.clone().text()).toBe(202);
  return (await res.json()) as Accepted;
}

async function dispatchJob(h: Harness, id: string, revision: number) {
  return h.deps.queues.dispatch.getJob(dispatchJobId(id, revision));
}

/** Three mail contacts, for delivery rows that point at real contacts. */
async function contacts(h: Harness): Promise<number[]> {
  await h.deps.store.subscribers.importMail(
    [1, 2, 3].map((i) => ({ email: `resident${i}@example.jp`, topics: ['shelter'], areas: [], locale: 'ja' as const })),
  );
  return h.deps.store.subscribers.audiencePage(
    { channel: 'mail', topics: [], areas: [], ignoreTopics: true, severity: 'info' as const },
    0,
    10,
  );
}

describe('POST /v1/notices (sqlite)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness('sqlite');
  });
  afterAll(async () => {
    await h.dispose();
  });

  it('accepts a routine notice from an author with 202 {id, revision, status} and queues one dispatch job with its priority', async () => {
    const res = await post(h, aNotice(), { as: 'author' });
    expect(res.status).toBe(202);
    const body = (await res.json()) as Accepted;
    expect(body).toEqual({ id: expect.stringMatching(/^n[0-9a-z]{20}$/), revision: 1, status: 'queued' });
    const job = await dispatchJob(h, body.id, 1);
    expect(job?.data).toEqual({ noticeId: body.id, revision: 1 });
    expect(job?.opts.priority).toBe(10);
    const rev = await h.deps.store.notices.getRevision(body.id, 1);
    expect(rev?.channels).toEqual(h.deps.channels.ids());
    expect(rev?.createdBy).toBe('staff-author');
  });

  it('refuses an emergency from an author with 403 naming requestApproval, and takes it from an approver with priority 1', async () => {
    const byAuthor = await post(h, aNotice({ severity: 'emergency' }), { as: 'author' });
    expect(byAuthor.status).toBe(403);
    const err = (await byAuthor.json()) as ErrorJson;
    expect(err.error.code).toBe('forbidden');
    expect(err.error.message).toContain('requestApproval: true');
    expect(err.error.message).toContain('承認を申請');
    expect(err.error.message_en).toMatch(/submit it with requestApproval: true/);

    const byApprover = await post(h, aNotice({ severity: 'emergency' }), { as: 'approver' });
    expect(byApprover.status).toBe(202);
    const { id, status } = (await byApprover.json()) as Accepted;
    expect(status).toBe('queued');
    expect((await dispatchJob(h, id, 1))?.opts.priority).toBe(1);
    // With EMERGENCY_APPROVALS=1 the approver's own post is the approval, recorded as such.
    const detail = (await (await h.request('GET', `/v1/notices/${id}`)).json()) as {
      approval: { required: number; received: number; approvals: { decision: string; actor: string }[] };
    };
    expect(detail.approval).toMatchObject({
      required: 1,
      received: 1,
      approvals: [{ decision: 'approved', actor: 'staff-approver' }],
    });
  });

  it('keeps the issuing department on revision 1, trimmed; more than 60 characters is a 400 naming it', async () => {
    const { id } = await posted(h, aNotice({ department: '  危機管理防災課 ' }), 'author');
    expect((await h.deps.store.notices.getRevision(id, 1))?.department).toBe('危機管理防災課');
    const detail = (await (await h.request('GET', `/v1/notices/${id}`)).json()) as {
      revisions: { department: string | null }[];
    };
    expect(detail.revisions[0]?.department).toBe('危機管理防災課');

    const long = await post(h, aNotice({ department: '課'.repeat(61) }));
    expect(long.status).toBe(400);
    expect(Object.keys(((await long.json()) as ErrorJson).error.fields ?? {})).toEqual(['department']);
  });

  it('names the unknown field', async () => {
    const res = await post(h, aNotice({ colour: 'red' }));
    expect(res.status).toBe(400);
    const err = (await res.json()) as ErrorJson;
    expect(err.error.code).toBe('unknown_field');
    expect(err.error.fields).toEqual({ colour: ['不明な項目です'] });
    expect(err.error.fields_en).toEqual({ colour: ['unknown field'] });
  });

  it('names a bad severity, in Japanese and English', async () => {
    const res = await post(h, aNotice({ severity: 'catastrophic' }));
    expect(res.status).toBe(400);
    const err = (await res.json()) as ErrorJson;
    expect(err.error.code).toBe('validation_failed');
    expect(Object.keys(err.error.fields ?? {})).toEqual(['severity']);
    expect(err.error.fields?.severity?.[0]).toMatch(/無効な選択/);
    expect(err.error.fields_en?.severity?.[0]).toMatch(/emergency/);
  });

  it('names every missing and malformed field at once', async () => {
    const res = await post(h, {
      body: '',
      severity: 'info',
      category: 'お知らせ',
      scheduledAt: 'tomorrow',
      link: 'javascript:alert(1)',
    });
    expect(res.status).toBe(400);
    const err = (await res.json()) as ErrorJson;
    expect(Object.keys(err.error.fields ?? {}).sort()).toEqual(['body', 'link', 'scheduledAt', 'title']);
  });

  it('names an area code this city does not know, and a malformed one', async () => {
    const unknown = await post(h, aNotice({ areas: ['432105', '131016'] }));
    expect(unknown.status).toBe(400);
    const e1 = (await unknown.json()) as ErrorJson;
    expect(Object.keys(e1.error.fields ?? {})).toEqual(['areas']);
    expect(e1.error.fields?.areas?.[0]).toContain('131016');
    expect(e1.error.fields_en?.areas?.[0]).toContain('131016');

    const malformed = await post(h, aNotice({ areas: ['kikuchi'] }));
    expect(malformed.status).toBe(400);
    const e2 = (await malformed.json()) as ErrorJson;
    expect(e2.error.fields?.areas?.[0]).toMatch(/^0: /);
  });

  it('names an unknown topic and a channel not enabled here', async () => {
    const res = await post(h, aNotice({ topics: ['shelter', 'fishing'], channels: ['mail', 'line'] }));
    expect(res.status).toBe(400);
    const err = (await res.json()) as ErrorJson;
    expect(err.error.fields?.topics?.[0]).toContain('fishing');
    expect(err.error.fields?.channels?.[0]).toContain('line');
  });

  it('refuses an expiry before the notice goes out', async () => {
    const res = await post(h, aNotice({ expiresAt: '2001-01-01T00:00:00Z' }));
    expect(res.status).toBe(400);
    expect(Object.keys(((await res.json()) as ErrorJson).error.fields ?? {})).toEqual(['expiresAt']);
  });

  it('answers invalid JSON with 400 invalid_json', async () => {
    const res = await h.request('POST', '/v1/notices', {
      body: '{"title": "避難',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorJson).error.code).toBe('invalid_json');
  });

  it('answers a body of 1 MiB + 1 byte with 413; exactly 1 MiB passes on to validation', async () => {
    const sized = (bytes: number) => {
      const shell = JSON.stringify(aNotice({ body: '' }));
      const padding = bytes - Buffer.byteLength(shell);
      return shell.replace('"body":""', `"body":"${'x'.repeat(padding)}"`);
    };
    const over = sized(1024 * 1024 + 1);
    expect(Buffer.byteLength(over)).toBe(1024 * 1024 + 1);
    const res = await h.request('POST', '/v1/notices', { body: over, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorJson).error.code).toBe('payload_too_large');
    // At the limit the body is read, and its own 20,000-character limit names the field.
    const atLimit = await h.request('POST', '/v1/notices', {
      body: sized(1024 * 1024),
      headers: { 'content-type': 'application/json' },
    });
    expect(atLimit.status).toBe(400);
    expect(Object.keys(((await atLimit.json()) as ErrorJson).error.fields ?? {})).toEqual(['body']);
  });

  it('answers a wrong content type with 415', async () => {
    const res = await h.request('POST', '/v1/notices', {
      body: JSON.stringify(aNotice()),
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as ErrorJson).error.code).toBe('unsupported_media_type');
  });

  it('answers an unknown notice with 404 on every notice route', async () => {
    for (const [method, path, json] of [
      ['GET', '/v1/notices/nnope'],
      ['GET', '/v1/notices/nnope/deliveries'],
      ['POST', '/v1/notices/nnope/revisions', { title: 'x' }],
      ['POST', '/v1/notices/nnope/cancel', {}],
      ['POST', '/v1/notices/nnope/retry'],
    ] as const) {
      const res = await h.request(method, path, { json });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as ErrorJson).error.code).toBe('not_found');
    }
  });

  it('replays an Idempotency-Key with the same body: same id, one notice, one dispatch job', async () => {
    const before = await h.deps.queues.dispatch.getJobCounts();
    const first = await post(h, aNotice({ title: '冪等の確認' }), { key: 'key-1' });
    const second = await post(h, aNotice({ title: '冪等の確認' }), { key: 'key-1' });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const a = (await first.json()) as Accepted;
    const b = (await second.json()) as Accepted;
    expect(b.id).toBe(a.id);
    const after = await h.deps.queues.dispatch.getJobCounts();
    const total = (c: Record<string, number>) => Object.values(c).reduce((n, x) => n + x, 0);
    expect(total(after) - total(before)).toBe(1);
    const same = (await h.deps.store.notices.list({ limit: 100 })).filter((n) => n.title === '冪等の確認');
    expect(same).toHaveLength(1);
  });

  it('a replay finishes a first request whose dispatch never reached the queue, and retry does the same', async () => {
    const first = (await (await post(h, aNotice({ title: '途中で失敗' }), { key: 'key-lost' })).json()) as Accepted;
    // As if Redis had failed right after the notice was stored.
    await (await dispatchJob(h, first.id, 1))?.remove();
    expect(await dispatchJob(h, first.id, 1)).toBeUndefined();
    const replay = await post(h, aNotice({ title: '途中で失敗' }), { key: 'key-lost' });
    expect(((await replay.json()) as Accepted).id).toBe(first.id);
    expect(await dispatchJob(h, first.id, 1)).toBeDefined();

    await (await dispatchJob(h, first.id, 1))?.remove();
    const retry = await h.request('POST', `/v1/notices/${first.id}/retry`);
    expect(await retry.json()).toMatchObject({ rows: 0, batches: 0, dispatchRestarted: true });
    expect(await dispatchJob(h, first.id, 1)).toBeDefined();
  });

  it('two requests with one key at the same time make one notice', async () => {
    const [a, b] = await Promise.all([
      post(h, aNotice({ title: '同時' }), { key: 'key-race' }),
      post(h, aNotice({ title: '同時' }), { key: 'key-race' }),
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(((await a.json()) as Accepted).id).toBe(((await b.json()) as Accepted).id);
    expect((await h.deps.store.notices.list({ limit: 100 })).filter((n) => n.title === '同時')).toHaveLength(1);
  });

  it('answers an Idempotency-Key reused with another body with 422', async () => {
    expect((await post(h, aNotice({ title: 'A' }), { key: 'key-2' })).status).toBe(202);
    const res = await post(h, aNotice({ title: 'B' }), { key: 'key-2' });
    expect(res.status).toBe(422);
    expect(((await res.json()) as ErrorJson).error.code).toBe('idempotency_key_reused');
  });

  it('puts a notice scheduled for later in a delayed dispatch job', async () => {
    const at = new Date(Date.now() + 60 * 60 * 1000);
    const res = await post(h, aNotice({ scheduledAt: at.toISOString() }));
    expect(res.status).toBe(202);
    const { id, status } = (await res.json()) as Accepted;
    expect(status).toBe('scheduled');
    const job = await dispatchJob(h, id, 1);
    expect(await job?.getState()).toBe('delayed');
    expect(job?.opts.delay).toBeGreaterThan(59 * 60 * 1000);
    expect(job?.opts.delay).toBeLessThanOrEqual(60 * 60 * 1000);
  });
});

describe('notice lifecycle (sqlite)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness('sqlite');
  });
  afterAll(async () => {
    await h.dispose();
  });

  it('a correction creates revision 2 over the current one and a dispatch job for r2', async () => {
    const { id } = await posted(h, aNotice({ expiresAt: '2099-01-01T00:00:00+09:00' }));
    const res = await h.request('POST', `/v1/notices/${id}/revisions`, {
      json: { title: '避難所の開設について（場所を訂正）' },
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id, revision: 2, status: 'queued' });
    expect((await dispatchJob(h, id, 2))?.data).toEqual({ noticeId: id, revision: 2 });
    const r2 = await h.deps.store.notices.getRevision(id, 2);
    expect(r2?.kind).toBe('update');
    expect(r2?.title).toBe('避難所の開設について（場所を訂正）');
    expect(r2?.body).toBe(aNotice().body);
    expect(r2?.expiresAt?.toISOString()).toBe('2098-12-31T15:00:00.000Z');
  });

  it('a correction with nothing to change is 400, and one that makes an emergency waits for an approver', async () => {
    const { id } = await posted(h);
    expect((await h.request('POST', `/v1/notices/${id}/revisions`, { json: {} })).status).toBe(400);
    const res = await h.request('POST', `/v1/notices/${id}/revisions`, {
      as: 'author',
      json: { severity: 'emergency' },
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ revision: 2, status: 'pending_approval' });
    expect(await dispatchJob(h, id, 2)).toBeUndefined();
    expect(
      (await h.request('POST', `/v1/notices/${id}/revisions`, { as: 'approver', json: { severity: 'emergency' } }))
        .status,
    ).toBe(202);
  });

  it('cancel sends a cancel revision; cancelling again is 409, and so is correcting it', async () => {
    const { id } = await posted(h);
    const res = await h.request('POST', `/v1/notices/${id}/cancel`, { json: { reason: '誤って配信しました' } });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id, revision: 2, status: 'cancelled', sent: true });
    expect(await dispatchJob(h, id, 2)).toBeDefined();
    const r2 = await h.deps.store.notices.getRevision(id, 2);
    expect(r2?.kind).toBe('cancel');
    expect(r2?.body).toBe('誤って配信しました');

    const again = await h.request('POST', `/v1/notices/${id}/cancel`);
    expect(again.status).toBe(409);
    expect(((await again.json()) as ErrorJson).error.code).toBe('already_cancelled');
    expect((await h.request('POST', `/v1/notices/${id}/revisions`, { json: { title: 'x' } })).status).toBe(409);
  });

  it('cancelling a scheduled notice before its time removes its job and sends nothing', async () => {
    const res = await post(h, aNotice({ scheduledAt: new Date(Date.now() + 3_600_000).toISOString() }));
    const { id } = (await res.json()) as Accepted;
    expect(await dispatchJob(h, id, 1)).toBeDefined();
    const cancel = await h.request('POST', `/v1/notices/${id}/cancel`);
    expect(cancel.status).toBe(202);
    expect(((await cancel.json()) as { sent: boolean }).sent).toBe(false);
    expect(await dispatchJob(h, id, 1)).toBeUndefined();
    expect(await dispatchJob(h, id, 2)).toBeUndefined();
    const detail = (await (await h.request('GET', `/v1/notices/${id}`)).json()) as { status: string };
    expect(detail.status).toBe('cancelled');
  });

  it('GET detail shows revisions, per-channel counts and a derived status', async () => {
    const [c1, c2, c3] = await contacts(h);
    const { id } = await posted(h);
    const detail0 = (await (await h.request('GET', `/v1/notices/${id}`)).json()) as { status: string };
    expect(detail0.status).toBe('queued');

    const rows = [c1, c2, c3].map((contactId) => ({
      noticeId: id,
      revision: 1,
      channel: 'mail' as const,
      recipient: String(contactId),
      contactId: contactId ?? null,
      batch: 0,
    }));
    await h.deps.store.deliveries.insertQueued([
      ...rows,
      { noticeId: id, revision: 1, channel: 'cap', recipient: '*', contactId: null, batch: 0 },
    ]);
    const all = await h.deps.store.deliveries.list(id, { limit: 10 });
    const mail = all.filter((d) => d.channel === 'mail');
    const cap = all.filter((d) => d.channel === 'cap');
    await h.deps.store.deliveries.markSent([{ id: mail[0]?.id ?? 0 }, { id: cap[0]?.id ?? 0 }]);
    await h.deps.store.deliveries.markFinal(
      [{ id: mail[1]?.id ?? 0, reason: '550 5.1.1 <resident2@example.jp>: no such user' }],
      'failed',
    );

    const res = await h.request('GET', `/v1/notices/${id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      currentRevision: number;
      pageUrl: string;
      revisions: { revision: number; kind: string; counts: Record<string, Record<string, number>> }[];
    };
    expect(body.status).toBe('sending');
    expect(body.pageUrl).toBe(`https://hibiki.example.jp/notices/${id}`);
    // Sent without review: nothing to approve.
    expect((body as unknown as { approval: unknown }).approval).toEqual({ required: 0, received: 0, approvals: [] });
    expect(body.revisions).toHaveLength(1);
    expect(body.revisions[0]?.counts).toEqual({
      mail: { queued: 1, sent: 1, failed: 1, skipped: 0 },
      cap: { queued: 0, sent: 1, failed: 0, skipped: 0 },
    });

    // The last queued row sent and the dispatch finished: completed, with one failure.
    await h.deps.store.deliveries.markSent([{ id: mail[2]?.id ?? 0 }]);
    await h.deps.store.notices.setStatus(id, 'dispatched');
    const done = (await (await h.request('GET', `/v1/notices/${id}`)).json()) as { status: string };
    expect(done.status).toBe('completed_with_failures');

    // Retry puts the failed row back as a new job for its batch.
    const retry = await h.request('POST', `/v1/notices/${id}/retry`);
    expect(retry.status).toBe(202);
    expect(await retry.json()).toEqual({ id, revision: 1, rows: 1, batches: 1, dispatchRestarted: false });
    const jobs = await h.deps.queues.deliver('mail').getJobs(['prioritized', 'waiting']);
    const retryJob = jobs.find((j) => j.data.noticeId === id);
    expect(retryJob?.id).toMatch(new RegExp(`^d-${id}-r1-mail-0-retry\\d+$`));
    expect(retryJob?.data).toEqual({ noticeId: id, revision: 1, channel: 'mail', batch: 0 });
    const again = (await (await h.request('GET', `/v1/notices/${id}`)).json()) as { status: string };
    expect(again.status).toBe('sending');
  });

  it('pages deliveries by cursor with filters, and never shows an address', async () => {
    const ids = await contacts(h);
    const { id } = await posted(h);
    await h.deps.store.deliveries.insertQueued([
      ...ids.map((contactId) => ({
        noticeId: id,
        revision: 1,
        channel: 'mail' as const,
        recipient: String(contactId),
        contactId,
        batch: 0,
      })),
      { noticeId: id, revision: 1, channel: 'cap', recipient: '*', contactId: null, batch: 0 },
    ]);
    const rows = await h.deps.store.deliveries.list(id, { limit: 10 });
    const mailRows = rows.filter((r) => r.channel === 'mail');
    await h.deps.store.deliveries.markFinal(
      [{ id: mailRows[0]?.id ?? 0, reason: 'SMTP 550 <resident1@example.jp> rejected' }],
      'failed',
    );

    const seen: number[] = [];
    let cursor: number | null = null;
    let pages = 0;
    do {
      const res = await h.request('GET', `/v1/notices/${id}/deliveries?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).not.toContain('@example.jp');
      const page = JSON.parse(text) as { items: { id: number; lastError: string | null }[]; nextCursor: number | null };
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(2);
    expect(seen).toEqual(rows.map((r) => r.id));

    const failed = (await (await h.request('GET', `/v1/notices/${id}/deliveries?status=failed`)).json()) as {
      items: Record<string, unknown>[];
    };
    expect(failed.items).toHaveLength(1);
    expect(failed.items[0]?.lastError).toBe('SMTP 550 <[address]> rejected');
    expect(Object.keys(failed.items[0] ?? {}).sort()).toEqual(
      [
        'attempts',
        'channel',
        'createdAt',
        'id',
        'lastError',
        'providerId',
        'recipient',
        'revision',
        'sentAt',
        'status',
        'updatedAt',
      ].sort(),
    );
    const cap = (await (await h.request('GET', `/v1/notices/${id}/deliveries?channel=cap`)).json()) as {
      items: { recipient: string }[];
    };
    expect(cap.items.map((i) => i.recipient)).toEqual(['*']);
    const r2 = (await (await h.request('GET', `/v1/notices/${id}/deliveries?revision=2`)).json()) as {
      items: unknown[];
    };
    expect(r2.items).toHaveLength(0);
    const bad = await h.request('GET', `/v1/notices/${id}/deliveries?status=lost&limit=0`);
    expect(bad.status).toBe(400);
    expect(Object.keys(((await bad.json()) as ErrorJson).error.fields ?? {}).sort()).toEqual(['limit', 'status']);
  });

  it('lists notices newest first with a cursor and a status filter', async () => {
    const a = await posted(h, aNotice({ title: '一覧1' }));
    const b = await posted(h, aNotice({ title: '一覧2' }));
    const first = (await (await h.request('GET', '/v1/notices?limit=1')).json()) as {
      items: { id: string }[];
      nextCursor: string;
    };
    expect(first.items.map((i) => i.id)).toEqual([b.id]);
    const second = (await (await h.request('GET', `/v1/notices?limit=1&cursor=${first.nextCursor}`)).json()) as {
      items: { id: string }[];
    };
    expect(second.items.map((i) => i.id)).toEqual([a.id]);
    const cancelled = (await (await h.request('GET', '/v1/notices?status=cancelled&limit=100')).json()) as {
      items: { status: string }[];
      nextCursor: string | null;
    };
    expect(cancelled.items.length).toBeGreaterThan(0);
    expect(cancelled.items.every((i) => i.status === 'cancelled')).toBe(true);
    expect(cancelled.nextCursor).toBeNull();
  });

  it('preview renders mail in ja and en and CAP in ja, and stores and queues nothing', async () => {
    const noticesBefore = (await h.deps.store.notices.list({ limit: 1000 })).length;
    const jobsBefore = await h.deps.queues.dispatch.getJobCounts();
    const res = await h.request('POST', '/v1/preview', {
      json: aNotice({ severity: 'emergency', title: '避難指示 <発令>' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      renders: { channel: string; locale: string; rendered?: Record<string, string>; error?: string }[];
    };
    expect(body.renders.map((r) => `${r.channel}:${r.locale}`).sort()).toEqual(['cap:ja', 'mail:en', 'mail:ja']);
    const mailJa = body.renders.find((r) => r.channel === 'mail' && r.locale === 'ja');
    expect(mailJa?.rendered?.subject).toBe('【緊急】避難指示 <発令>');
    expect(mailJa?.rendered?.html).toContain('避難指示 &lt;発令&gt;');
    const cap = body.renders.find((r) => r.channel === 'cap');
    expect(cap?.rendered?.xml).toContain('<alert');
    expect((await h.deps.store.notices.list({ limit: 1000 })).length).toBe(noticesBefore);
    expect(await h.deps.queues.dispatch.getJobCounts()).toEqual(jobsBefore);
  });

  it('writes each change to the audit log with the token name', async () => {
    const { id } = await posted(h, aNotice(), 'author');
    await h.request('POST', `/v1/notices/${id}/revisions`, { as: 'approver', json: { body: '訂正後の本文' } });
    await h.request('POST', `/v1/notices/${id}/retry`, { as: 'admin' });
    await h.request('POST', `/v1/notices/${id}/cancel`, { as: 'approver' });
    const entries = (await h.deps.store.audit.list({ limit: 500 })).filter((e) => e.target === id).reverse();
    expect(entries.map((e) => [e.action, e.actor])).toEqual([
      ['notice.create', 'staff-author'],
      ['notice.correct', 'staff-approver'],
      ['notice.retry', 'staff-admin'],
      ['notice.cancel', 'staff-approver'],
    ]);
    expect(entries[1]?.detail).toEqual({ revision: 2, changed: ['body'] });
  });

  it('an unexpected failure is a 500 with a request id and no internals', async () => {
    const { id } = await posted(h);
    // The store closed under the app: a real failure, not a simulated one.
    const broken = await createHarness('sqlite');
    await broken.deps.store.db.close();
    const res = await broken.request('GET', `/v1/notices/${id}`);
    expect(res.status).toBe(500);
    const err = (await res.json()) as ErrorJson;
    expect(err.error.code).toBe('internal_error');
    expect(err.error.requestId).toBe(res.headers.get('x-request-id'));
    expect(JSON.stringify(err)).not.toMatch(/sqlite|kysely|driver|stack/i);
    await broken.dispose();
  });
});

describe.each(['postgres'] as StoreKind[])('notices against %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => {
    await h.dispose();
  });

  it('posts, replays by key, counts deliveries and pages them', async () => {
    const first = await post(h, aNotice(), { key: 'pg-key' });
    const replay = await post(h, aNotice(), { key: 'pg-key' });
    const { id } = (await first.json()) as Accepted;
    expect(((await replay.json()) as Accepted).id).toBe(id);
    expect((await post(h, aNotice({ title: '別' }), { key: 'pg-key' })).status).toBe(422);

    const ids = await contacts(h);
    await h.deps.store.deliveries.insertQueued(
      ids.map((contactId) => ({
        noticeId: id,
        revision: 1,
        channel: 'mail' as const,
        recipient: String(contactId),
        contactId,
        batch: 0,
      })),
    );
    const rows = await h.deps.store.deliveries.list(id, { limit: 10 });
    await h.deps.store.deliveries.markSent([{ id: rows[0]?.id ?? 0 }]);
    const detail = (await (await h.request('GET', `/v1/notices/${id}`)).json()) as {
      revisions: { counts: Record<string, Record<string, number>> }[];
    };
    expect(detail.revisions[0]?.counts.mail).toEqual({ queued: 2, sent: 1, failed: 0, skipped: 0 });
    const page = (await (await h.request('GET', `/v1/notices/${id}/deliveries?limit=2`)).json()) as {
      items: { id: number }[];
      nextCursor: number;
    };
    expect(page.items).toHaveLength(2);
    const rest = (await (
      await h.request('GET', `/v1/notices/${id}/deliveries?limit=2&cursor=${page.nextCursor}`)
    ).json()) as {
      items: { id: number }[];
      nextCursor: number | null;
    };
    expect(rest.items.map((i) => i.id)).toEqual([rows[2]?.id]);
    expect(rest.nextCursor).toBeNull();

    const cancel = await h.request('POST', `/v1/notices/${id}/cancel`);
    expect(cancel.status).toBe(202);
    expect((await h.request('POST', `/v1/notices/${id}/cancel`)).status).toBe(409);
  });
});
