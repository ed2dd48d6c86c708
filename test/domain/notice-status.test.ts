import { describe, expect, it } from 'vitest';
import {
  deriveStatus,
  emptyCounts,
  notReturned,
  refuseCancel,
  refuseCorrection,
  refuseUnapproved,
} from '../../src/domain/notice-status.ts';

const now = new Date('2026-09-14T10:00:00Z');
const later = new Date('2026-09-14T12:00:00Z');
const sent = { scheduledAt: null };

describe('deriveStatus', () => {
  it('keeps the stored status of a notice under review or cancelled', () => {
    expect(deriveStatus({ status: 'pending_approval' }, sent, undefined, now)).toBe('pending_approval');
    expect(deriveStatus({ status: 'returned' }, sent, undefined, now)).toBe('returned');
    expect(deriveStatus({ status: 'cancelled' }, sent, { ...emptyCounts(), queued: 3 }, now)).toBe('cancelled');
  });
  it('reads sending and completion from the delivery counts', () => {
    expect(deriveStatus({ status: 'queued' }, sent, undefined, now)).toBe('queued');
    expect(deriveStatus({ status: 'queued' }, sent, { ...emptyCounts(), sent: 1 }, now)).toBe('sending');
    expect(deriveStatus({ status: 'dispatched' }, sent, { ...emptyCounts(), queued: 1 }, now)).toBe('sending');
    expect(deriveStatus({ status: 'dispatched' }, sent, { ...emptyCounts(), sent: 2 }, now)).toBe('completed');
    expect(deriveStatus({ status: 'dispatched' }, sent, { ...emptyCounts(), failed: 1 }, now)).toBe(
      'completed_with_failures',
    );
  });
  it('is scheduled only while the time is ahead', () => {
    expect(deriveStatus({ status: 'scheduled' }, { scheduledAt: later }, undefined, now)).toBe('scheduled');
    expect(deriveStatus({ status: 'scheduled' }, { scheduledAt: now }, undefined, later)).toBe('queued');
  });
});

describe('allowed moves', () => {
  it('corrects only a notice that went out and is not cancelled', () => {
    const correct = (status: Parameters<typeof refuseCorrection>[0]['status'], scheduledAt: Date | null = null) => {
      try {
        refuseCorrection({ id: 'n-1', status }, { scheduledAt }, now);
        return 'ok';
      } catch (err) {
        return (err as { code: string }).code;
      }
    };
    expect(correct('dispatched')).toBe('ok');
    expect(correct('queued')).toBe('ok');
    expect(correct('cancelled')).toBe('notice_cancelled');
    expect(correct('pending_approval')).toBe('not_approved');
    expect(correct('returned')).toBe('not_approved');
    expect(correct('scheduled', later)).toBe('notice_scheduled');
    expect(correct('scheduled', now)).toBe('ok');
  });
  it('cancels once, retries only what was approved, resubmits only what was returned', () => {
    expect(() => refuseCancel({ id: 'n-1', status: 'cancelled' })).toThrow(
      expect.objectContaining({ kind: 'conflict', code: 'already_cancelled' }),
    );
    expect(() => refuseCancel({ id: 'n-1', status: 'pending_approval' })).not.toThrow();
    expect(() => refuseUnapproved({ id: 'n-1', status: 'returned' }, { ja: '再送', en: 'retried' })).toThrow(
      expect.objectContaining({ code: 'not_approved', messageEn: expect.stringContaining('returned: change it') }),
    );
    expect(() => refuseUnapproved({ id: 'n-1', status: 'dispatched' }, { ja: '再送', en: 'retried' })).not.toThrow();
    expect(notReturned({ id: 'n-1', status: 'queued' })).toMatchObject({ kind: 'conflict', code: 'not_returned' });
  });
});
