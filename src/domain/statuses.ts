/**
 * Where a notice, a delivery and an approval step stand: the words every layer uses
 * (the store keeps them as they are, the API and console show them).
 */

/**
 * pending_approval: an emergency (or a notice staff chose to have checked) waits for approvers;
 * returned: an approver sent it back with a comment, for its author to change and submit again.
 * Neither has reached the queue.
 */
export type NoticeStatus = 'pending_approval' | 'returned' | 'scheduled' | 'queued' | 'dispatched' | 'cancelled';

/** One recipient's copy of one revision on one channel. */
export type DeliveryStatus = 'queued' | 'sent' | 'failed' | 'skipped';

/** Each step of an emergency notice's approval. */
export type ApprovalDecision = 'submitted' | 'approved' | 'returned';
