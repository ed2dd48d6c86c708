import { describe, expect, it } from 'vitest';
import type { Revision } from '../../src/domain/revision.ts';
import {
  cancelRevision,
  changedFields,
  checkReferences,
  checkTimes,
  correctionRevision,
  DEPARTMENT_MAX,
  firstRevision,
  type KnownReferences,
  requireChanges,
  resubmittedRevision,
} from '../../src/domain/revision-input.ts';

const known: KnownReferences = {
  topics: new Set(['disaster', 'events']),
  areas: new Set(['432083-01']),
  channels: ['mail', 'line'],
};
const now = new Date('2026-09-14T10:00:00Z');
const later = new Date('2026-09-14T12:00:00Z');
const earlier = new Date('2026-09-14T08:00:00Z');

const current: Revision = {
  noticeId: 'n-1',
  revision: 1,
  kind: 'alert',
  title: '避難指示',
  body: '避難してください',
  severity: 'emergency',
  category: '避難情報',
  mode: 'actual',
  topics: ['disaster'],
  areas: ['432083-01'],
  channels: ['mail'],
  link: 'https://example.jp/a',
  department: '防災課',
  capIdentifier: 'x',
  sentAt: now,
  expiresAt: later,
  scheduledAt: null,
  createdBy: 'author',
  createdAt: now,
};

const fieldsOf = (f: () => void): Record<string, unknown> | undefined => {
  try {
    f();
    return undefined;
  } catch (err) {
    expect(err).toMatchObject({ kind: 'invalid', code: 'validation_failed' });
    return (err as { fields: Record<string, unknown> }).fields;
  }
};

describe('checkReferences', () => {
  it('accepts what the deployment knows', () => {
    expect(fieldsOf(() => checkReferences({ topics: ['disaster'], areas: [], channels: ['line'] }, known))).toBe(
      undefined,
    );
  });
  it('names each bad field: unknown topics, areas and channels, no channel, NUL, a long department', () => {
    const fields = fieldsOf(() =>
      checkReferences(
        {
          title: 'a\u0000b',
          topics: ['nope'],
          areas: ['999999'],
          channels: ['x'],
          department: 'd'.repeat(DEPARTMENT_MAX + 1),
        },
        known,
      ),
    );
    expect(Object.keys(fields ?? {}).sort()).toEqual(['areas', 'channels', 'department', 'title', 'topics']);
    expect(fieldsOf(() => checkReferences({ channels: [] }, known))).toEqual({ channels: [expect.any(Object)] });
  });
});

describe('checkTimes', () => {
  it('refuses an expiry at or before the time of sending', () => {
    expect(fieldsOf(() => checkTimes(now, now))).toEqual({ expiresAt: [expect.any(Object)] });
    expect(fieldsOf(() => checkTimes(later, now))).toBeUndefined();
    expect(fieldsOf(() => checkTimes(null, now))).toBeUndefined();
  });
});

describe('changes', () => {
  it('names the fields given, null included, and refuses none', () => {
    expect(changedFields({ title: 'x', link: null, body: undefined })).toEqual(['title', 'link']);
    expect(() => requireChanges([])).toThrow(expect.objectContaining({ kind: 'invalid', code: 'no_changes' }));
  });
});

describe('revisions', () => {
  it('gives a first revision its defaults; a schedule in the past means now', () => {
    const r = firstRevision(
      { title: 't', body: 'b', severity: 'info', category: 'お知らせ', topics: ['a', 'a'], scheduledAt: earlier },
      known.channels,
      now,
    );
    expect(r).toMatchObject({ kind: 'alert', mode: 'actual', topics: ['a'], channels: ['mail', 'line'] });
    expect(r.scheduledAt).toBeNull();
    expect(r.department).toBeNull();
  });
  it('lays a correction over the current revision, sent now', () => {
    const r = correctionRevision({ ...current, scheduledAt: later }, { title: '訂正', link: null, department: '  ' });
    expect(r).toMatchObject({ kind: 'update', title: '訂正', body: current.body, link: null, department: null });
    expect(r.scheduledAt).toBeNull();
  });
  it('cancels with the reason only, and drops an expiry already past', () => {
    const r = cancelRevision(current, '解除しました', now);
    expect(r).toMatchObject({ kind: 'cancel', body: '解除しました', link: null, expiresAt: later });
    expect(cancelRevision(current, undefined, later).expiresAt).toBeNull();
    expect(cancelRevision(current, undefined, now).body).toBe('');
  });
  it('rewrites a returned notice from its changes and keeps the rest', () => {
    const r = resubmittedRevision(current, { body: '新しい本文', link: null }, known.channels, now);
    expect(r).toMatchObject({
      kind: 'alert',
      title: current.title,
      body: '新しい本文',
      link: null,
      department: '防災課',
    });
  });
});
