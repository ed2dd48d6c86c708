import { randomBytes } from 'node:crypto';
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Db, Dialect } from './db.ts';

/**
 * One set of migrations for both stores. The only dialect difference is how an
 * auto-incrementing id is declared.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  // Migrations run before the typed schema exists, so they build on Kysely<any>.
  const id = (t: any) =>
    dialect === 'sqlite'
      ? t.addColumn('id', 'integer', (c: any) => c.primaryKey().autoIncrement())
      : t.addColumn('id', 'bigserial', (c: any) => c.primaryKey());
  const bigint = dialect === 'sqlite' ? 'integer' : 'bigint';

  return {
    '0001_initial': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('notices')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('current_revision', 'integer', (c) => c.notNull())
          .addColumn('severity', 'text', (c) => c.notNull())
          .addColumn('mode', 'text', (c) => c.notNull())
          .addColumn('title', 'text', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('idempotency_key', 'text', (c) => c.unique())
          .addColumn('idempotency_hash', 'text')
          .execute();
        await db.schema.createIndex('notices_created_at').on('notices').column('created_at').execute();

        await db.schema
          .createTable('revisions')
          .addColumn('notice_id', 'text', (c) => c.notNull().references('notices.id').onDelete('cascade'))
          .addColumn('revision', 'integer', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('title', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('severity', 'text', (c) => c.notNull())
          .addColumn('category', 'text', (c) => c.notNull())
          .addColumn('mode', 'text', (c) => c.notNull())
          .addColumn('topics', 'text', (c) => c.notNull())
          .addColumn('areas', 'text', (c) => c.notNull())
          .addColumn('channels', 'text', (c) => c.notNull())
          .addColumn('link', 'text')
          .addColumn('cap_identifier', 'text', (c) => c.notNull().unique())
          .addColumn('sent_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text')
          .addColumn('scheduled_at', 'text')
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('dispatch_state', 'text')
          .addColumn('dispatched_at', 'text')
          .addPrimaryKeyConstraint('revisions_pk', ['notice_id', 'revision'])
          .execute();

        await id(db.schema.createTable('subscribers'))
          .addColumn('locale', 'text', (c: any) => c.notNull())
          .addColumn('created_at', 'text', (c: any) => c.notNull())
          .addColumn('updated_at', 'text', (c: any) => c.notNull())
          .execute();

        await id(db.schema.createTable('contacts'))
          .addColumn('subscriber_id', bigint, (c: any) => c.notNull().references('subscribers.id').onDelete('cascade'))
          .addColumn('channel', 'text', (c: any) => c.notNull())
          .addColumn('address', 'text', (c: any) => c.notNull())
          .addColumn('verified', 'integer', (c: any) => c.notNull())
          .addColumn('active', 'integer', (c: any) => c.notNull())
          .addColumn('deactivated_reason', 'text')
          .addColumn('created_at', 'text', (c: any) => c.notNull())
          .addColumn('updated_at', 'text', (c: any) => c.notNull())
          .addUniqueConstraint('contacts_channel_address', ['channel', 'address'])
          .execute();
        await db.schema.createIndex('contacts_subscriber').on('contacts').column('subscriber_id').execute();

        await db.schema
          .createTable('subscriber_topics')
          .addColumn('subscriber_id', bigint, (c) => c.notNull().references('subscribers.id').onDelete('cascade'))
          .addColumn('topic', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('subscriber_topics_pk', ['subscriber_id', 'topic'])
          .execute();
        await db.schema
          .createTable('subscriber_areas')
          .addColumn('subscriber_id', bigint, (c) => c.notNull().references('subscribers.id').onDelete('cascade'))
          .addColumn('area', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('subscriber_areas_pk', ['subscriber_id', 'area'])
          .execute();

        await id(db.schema.createTable('deliveries'))
          .addColumn('notice_id', 'text', (c: any) => c.notNull().references('notices.id').onDelete('cascade'))
          .addColumn('revision', 'integer', (c: any) => c.notNull())
          .addColumn('channel', 'text', (c: any) => c.notNull())
          .addColumn('recipient', 'text', (c: any) => c.notNull())
          .addColumn('contact_id', bigint, (c: any) => c.references('contacts.id').onDelete('set null'))
          .addColumn('batch', 'integer', (c: any) => c.notNull())
          .addColumn('status', 'text', (c: any) => c.notNull())
          .addColumn('attempts', 'integer', (c: any) => c.notNull().defaultTo(0))
          .addColumn('last_error', 'text')
          .addColumn('provider_id', 'text')
          .addColumn('created_at', 'text', (c: any) => c.notNull())
          .addColumn('updated_at', 'text', (c: any) => c.notNull())
          .addColumn('sent_at', 'text')
          .addUniqueConstraint('deliveries_once', ['notice_id', 'revision', 'channel', 'recipient'])
          .execute();
        // The deliver worker's query: the still-queued rows of one batch.
        await db.schema
          .createIndex('deliveries_batch')
          .on('deliveries')
          .columns(['notice_id', 'revision', 'channel', 'batch', 'status'])
          .execute();

        await db.schema
          .createTable('cap_messages')
          .addColumn('identifier', 'text', (c) => c.primaryKey())
          .addColumn('notice_id', 'text', (c) => c.notNull().references('notices.id').onDelete('cascade'))
          .addColumn('revision', 'integer', (c) => c.notNull())
          .addColumn('msg_type', 'text', (c) => c.notNull())
          .addColumn('sent_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text')
          .addColumn('xml', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('cap_messages_notice')
          .on('cap_messages')
          .columns(['notice_id', 'revision'])
          .execute();

        await id(db.schema.createTable('staff_tokens'))
          .addColumn('name', 'text', (c: any) => c.notNull())
          .addColumn('role', 'text', (c: any) => c.notNull())
          .addColumn('token_hash', 'text', (c: any) => c.notNull().unique())
          .addColumn('created_at', 'text', (c: any) => c.notNull())
          .addColumn('revoked_at', 'text')
          .addColumn('last_used_at', 'text')
          .execute();

        await id(db.schema.createTable('audit_log'))
          .addColumn('at', 'text', (c: any) => c.notNull())
          .addColumn('actor', 'text', (c: any) => c.notNull())
          .addColumn('action', 'text', (c: any) => c.notNull())
          .addColumn('target', 'text')
          .addColumn('detail', 'text')
          .execute();

        await db.schema
          .createTable('settings')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0002_webhook_endpoints': {
      async up(db: Kysely<any>) {
        // An outbound webhook endpoint is a contact on the 'webhook' channel (so topics and
        // areas select it like any subscriber); this table holds what only webhooks have.
        await db.schema
          .createTable('webhook_endpoints')
          .addColumn('contact_id', bigint, (c) => c.primaryKey().references('contacts.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          // Kept in clear: every request is signed with it (Standard Webhooks), so it cannot be a hash.
          .addColumn('secret', 'text', (c) => c.notNull())
          // 0 info, 1 advisory, 2 warning, 3 emergency: the endpoint gets notices at or above it.
          .addColumn('min_severity', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0003_residents': {
      async up(db: Kysely<any>) {
        // A Web Push subscription is a contact on the 'webpush' channel (address = the push
        // endpoint); the keys to encrypt for it live here.
        await db.schema
          .createTable('push_subscriptions')
          .addColumn('contact_id', bigint, (c) => c.primaryKey().references('contacts.id').onDelete('cascade'))
          .addColumn('p256dh', 'text', (c) => c.notNull())
          .addColumn('auth', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        // Secrets residents hold (manage links, confirmation links), stored only as hashes.
        await db.schema
          .createTable('subscriber_tokens')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('subscriber_id', bigint, (c) => c.notNull().references('subscribers.id').onDelete('cascade'))
          .addColumn('purpose', 'text', (c) => c.notNull())
          .addColumn('contact_id', bigint, (c) => c.references('contacts.id').onDelete('cascade'))
          .addColumn('expires_at', 'text')
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('subscriber_tokens_subscriber')
          .on('subscriber_tokens')
          .columns(['subscriber_id', 'purpose'])
          .execute();
      },
    },
    '0004_console': {
      async up(db: Kysely<any>) {
        await id(db.schema.createTable('notice_approvals'))
          .addColumn('notice_id', 'text', (c: any) => c.notNull().references('notices.id').onDelete('cascade'))
          .addColumn('decision', 'text', (c: any) => c.notNull())
          .addColumn('actor', 'text', (c: any) => c.notNull())
          .addColumn('actor_token_id', bigint, (c: any) => c.notNull())
          .addColumn('comment', 'text')
          .addColumn('at', 'text', (c: any) => c.notNull())
          .execute();
        await db.schema.alterTable('revisions').addColumn('department', 'text').execute();
        // The console's audit view filters by action or by actor, newest first.
        await db.schema.createIndex('audit_log_action').on('audit_log').columns(['action', 'id']).execute();
        await db.schema.createIndex('audit_log_actor').on('audit_log').columns(['actor', 'id']).execute();
        await db.schema
          .createIndex('notice_approvals_notice')
          .on('notice_approvals')
          .columns(['notice_id', 'id'])
          .execute();
        await db.schema
          .createTable('staff_sessions')
          .addColumn('id_hash', 'text', (c: any) => c.primaryKey())
          .addColumn('token_id', bigint, (c: any) => c.notNull().references('staff_tokens.id').onDelete('cascade'))
          .addColumn('csrf_token', 'text', (c: any) => c.notNull())
          .addColumn('created_at', 'text', (c: any) => c.notNull())
          .addColumn('expires_at', 'text', (c: any) => c.notNull())
          .addColumn('last_seen_at', 'text', (c: any) => c.notNull())
          .execute();
      },
    },
    '0005_audience_index': {
      async up(db: Kysely<any>) {
        // A dispatch reads a channel's audience page by page in contact id order. Without
        // this index each page scanned and sorted the channel's every contact: 46 ms a page
        // of 1,000 with 50,000 LINE contacts on SQLite, most of a city-wide dispatch.
        await db.schema
          .createIndex('contacts_audience')
          .on('contacts')
          .columns(['channel', 'active', 'verified', 'id'])
          .execute();
      },
    },
    '0006_proposed_revisions': {
      async up(db: Kysely<any>) {
        // A correction or cancellation of an emergency waits here for its approvals; one per notice.
        await db.schema
          .createTable('proposed_revisions')
          .addColumn('notice_id', 'text', (c) => c.primaryKey().references('notices.id').onDelete('cascade'))
          .addColumn('revision', 'integer', (c) => c.notNull())
          .addColumn('content', 'text', (c) => c.notNull())
          .addColumn('proposed_by', 'text', (c) => c.notNull())
          .addColumn('proposed_token_id', bigint, (c) => c.notNull())
          .addColumn('proposed_at', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0007_oidc': {
      async up(db: Kysely<any>) {
        // A token may end on a date (a contractor's, a term's); NULL keeps today's tokens as they are.
        await db.schema.alterTable('staff_tokens').addColumn('expires_at', 'text').execute();
        // A person signed in through the city's identity provider is a staff_tokens row keyed by
        // the provider's issuer and subject, so sessions, approvals and revocation work alike.
        await db.schema.alterTable('staff_tokens').addColumn('oidc_issuer', 'text').execute();
        await db.schema.alterTable('staff_tokens').addColumn('oidc_subject', 'text').execute();
        await db.schema
          .createIndex('staff_tokens_oidc')
          .on('staff_tokens')
          .columns(['oidc_issuer', 'oidc_subject'])
          .execute();
      },
    },
    '0008_residents': {
      async up(db: Kysely<any>) {
        // Manage links are signed over this nonce, which an unsubscribe changes. '' signs as
        // links did before, so links in mails already sent keep working until then.
        await db.schema
          .alterTable('subscribers')
          .addColumn('manage_nonce', 'text', (c: any) => c.notNull().defaultTo(''))
          .execute();
        // Those who unsubscribed before this version hold old links that must die now.
        const left = await db
          .selectFrom('contacts')
          .select('subscriber_id')
          .distinct()
          .where('channel', '=', 'mail')
          .where('verified', '=', 1)
          .where('active', '=', 0)
          .execute();
        for (const { subscriber_id } of left) {
          await db
            .updateTable('subscribers')
            .set({ manage_nonce: randomBytes(16).toString('base64url') })
            .where('id', '=', subscriber_id)
            .execute();
        }
      },
    },
    '0009_ops': {
      async up(db: Kysely<any>) {
        // Who did what from where: the client address of each audited action over HTTP
        // (null for the command line and for rows written before this column).
        await db.schema.alterTable('audit_log').addColumn('client_address', 'text').execute();
      },
    },
  };
}

class InlineProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations() {
    return migrations(this.dialect);
  }
}

/**
 * Brings the store to the newest schema; safe to run on every start and from many processes.
 * `upTo` stops after the named migration (a test of a later migration over an older store).
 */
export async function migrate(db: Db, options: { upTo?: string } = {}): Promise<string[]> {
  // Kysely looks for its migration tables in every schema it can see; on PostgreSQL pin
  // them to the schema in use, or a second Hibiki schema in one database would find the
  // first one's tables and fail to migrate.
  const schema =
    db.dialect === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db.kysely)).rows[0]?.schema
      : undefined;
  const migrator = new Migrator({
    db: db.kysely,
    provider: new InlineProvider(db.dialect),
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await (options.upTo ? migrator.migrateTo(options.upTo) : migrator.migrateToLatest());
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
