import { createApprovalRepo } from './approvals.ts';
import { createAuditRepo } from './audit.ts';
import { createCapMessageRepo } from './cap-messages.ts';
import type { Db } from './db.ts';
import { createDeliveryRepo } from './deliveries.ts';
import { createLineContactRepo } from './line-contacts.ts';
import { createNoticeRepo } from './notices.ts';
import { createProposedRevisionRepo } from './proposed-revisions.ts';
import { createPushSubscriptionRepo } from './push-subscriptions.ts';
import { createResidentSubscriptionRepo } from './resident-subscriptions.ts';
import { createResidentTokenRepo } from './resident-tokens.ts';
import { createSettingsRepo } from './settings.ts';
import { createStaffSessionRepo } from './staff-sessions.ts';
import { createSubscriberRepo } from './subscribers.ts';
import { createTokenRepo } from './tokens.ts';
import { createUnfinishedWorkRepo } from './unfinished-work.ts';
import { createWebhookEndpointRepo } from './webhook-endpoints.ts';

export type Store = ReturnType<typeof createStore>;

/** Every repository over one database. */
export function createStore(db: Db, cityCode: string) {
  return {
    /** For tests and src/store only: code elsewhere goes through the repositories below. */
    db,
    /** Whether the store takes a write now (readiness): a held SQLite write lock fails it. */
    probe: (): Promise<void> => db.probe(),
    notices: createNoticeRepo(db, cityCode),
    approvals: createApprovalRepo(db),
    proposedRevisions: createProposedRevisionRepo(db),
    subscribers: createSubscriberRepo(db),
    lineContacts: createLineContactRepo(db),
    pushSubscriptions: createPushSubscriptionRepo(db),
    residents: createResidentSubscriptionRepo(db),
    residentTokens: createResidentTokenRepo(db),
    deliveries: createDeliveryRepo(db),
    capMessages: createCapMessageRepo(db),
    tokens: createTokenRepo(db),
    staffSessions: createStaffSessionRepo(db),
    audit: createAuditRepo(db),
    settings: createSettingsRepo(db),
    webhooks: createWebhookEndpointRepo(db),
    /** What is still to do, for the lost-job sweeper. */
    unfinishedWork: createUnfinishedWorkRepo(db),
  };
}
