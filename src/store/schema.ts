import type { ColumnType, Generated } from 'kysely';
import type { Category, ChannelId, Locale, Mode, RevisionKind, Severity } from '../domain/notice.ts';
import type { StaffRole } from '../domain/staff.ts';
import type { ApprovalDecision, DeliveryStatus, NoticeStatus } from '../domain/statuses.ts';

/**
 * Table types shared by SQLite and PostgreSQL. Times are ISO-8601 UTC text and booleans
 * are 0/1 integers in both, so one set of repositories reads both stores the same way.
 */
export interface Database {
  notices: NoticesTable;
  revisions: RevisionsTable;
  subscribers: SubscribersTable;
  contacts: ContactsTable;
  subscriber_topics: { subscriber_id: number; topic: string };
  subscriber_areas: { subscriber_id: number; area: string };
  deliveries: DeliveriesTable;
  cap_messages: CapMessagesTable;
  staff_tokens: StaffTokensTable;
  audit_log: AuditLogTable;
  settings: { key: string; value: string };
  webhook_endpoints: WebhookEndpointsTable;
  push_subscriptions: PushSubscriptionsTable;
  subscriber_tokens: SubscriberTokensTable;
  notice_approvals: NoticeApprovalsTable;
  staff_sessions: StaffSessionsTable;
  proposed_revisions: ProposedRevisionsTable;
}

/** A correction or cancellation waiting for approval; see src/store/proposed-revisions.ts. */
export interface ProposedRevisionsTable {
  notice_id: string;
  revision: number;
  /** The revision's content as JSON. */
  content: string;
  proposed_by: string;
  proposed_token_id: number;
  proposed_at: string;
}

/** Each step of an emergency notice's approval, in order; the audit log has them too. */
export interface NoticeApprovalsTable {
  id: Generated<number>;
  notice_id: string;
  decision: ApprovalDecision;
  /** The staff token's name, as in the audit log. */
  actor: string;
  actor_token_id: number;
  comment: string | null;
  at: string;
}

/** A console sign-in. The cookie holds a secret whose sha256 is the key; the token it came from must stay valid. */
export interface StaffSessionsTable {
  id_hash: string;
  token_id: number;
  /** Sent in every console form and checked on every POST (synchroniser token). */
  csrf_token: string;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
}

export interface PushSubscriptionsTable {
  contact_id: number;
  /** The browser's public key and auth secret (base64url), to encrypt each payload (RFC 8291). */
  p256dh: string;
  auth: string;
  created_at: string;
}

export type SubscriberTokenPurpose = 'manage' | 'confirm';

export interface SubscriberTokensTable {
  /** sha256 of the secret in the resident's link; the secret itself is never stored. */
  token_hash: string;
  subscriber_id: number;
  purpose: SubscriberTokenPurpose;
  contact_id: number | null;
  expires_at: string | null;
  created_at: string;
}

export interface WebhookEndpointsTable {
  contact_id: number;
  name: string;
  secret: string;
  /** 0 info … 3 emergency: the endpoint receives notices at or above this severity. */
  min_severity: number;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface NoticesTable {
  id: string;
  status: NoticeStatus;
  current_revision: number;
  severity: Severity;
  mode: Mode;
  title: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  idempotency_key: string | null;
  /** sha256 of the request that created it, to tell a replay from a different request. */
  idempotency_hash: string | null;
}

export interface RevisionsTable {
  notice_id: string;
  revision: number;
  kind: RevisionKind;
  title: string;
  body: string;
  severity: Severity;
  category: Category;
  mode: Mode;
  /** JSON arrays as text. */
  topics: string;
  areas: string;
  channels: string;
  link: string | null;
  department: ColumnType<string | null, string | null | undefined, string | null>;
  cap_identifier: string;
  sent_at: string;
  expires_at: string | null;
  scheduled_at: string | null;
  created_by: string;
  created_at: string;
  /** Dispatch progress, so a dispatch taken up again after a crash resumes, not restarts. */
  dispatch_state: string | null;
  dispatched_at: string | null;
}

export interface SubscribersTable {
  id: Generated<number>;
  locale: Locale;
  /** Signed into every manage link; changed on unsubscribe ('' for subscribers from before 0006: links as before). */
  manage_nonce: Generated<string>;
  created_at: string;
  updated_at: string;
}

export interface ContactsTable {
  id: Generated<number>;
  subscriber_id: number;
  channel: ChannelId;
  address: string;
  verified: number;
  active: number;
  deactivated_reason: string | null;
  created_at: string;
  updated_at: string;
}

export interface DeliveriesTable {
  id: Generated<number>;
  notice_id: string;
  revision: number;
  channel: ChannelId;
  /** The contact id as text, or '*' for a public channel's one post. */
  recipient: string;
  contact_id: number | null;
  batch: number;
  status: DeliveryStatus;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  provider_id: string | null;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
}

export interface CapMessagesTable {
  identifier: string;
  notice_id: string;
  revision: number;
  msg_type: 'Alert' | 'Update' | 'Cancel';
  sent_at: string;
  expires_at: string | null;
  xml: string;
  created_at: string;
}

export interface StaffTokensTable {
  id: Generated<number>;
  name: string;
  role: StaffRole;
  token_hash: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
  /** Unset: the token works until revoked. Set: refused from this time on, with its sessions. */
  expires_at: string | null;
  /**
   * Set for a person who signs in through the city's identity provider (OpenID Connect):
   * the row is their staff identity, not a bearer token (its hash is of a secret nobody
   * holds), so approvals and the audit log name the person, as they do a token's holder.
   */
  oidc_issuer: string | null;
  oidc_subject: string | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  detail: string | null;
  /** Added by 0009_ops: where an action over HTTP came from. */
  client_address: string | null;
}
