/**
 * A CAP 1.2 message as the CAP channel makes it and the store archives it (the feed then
 * serves it to aggregators): the port between channels/cap and src/store/cap-messages.ts.
 */

export type CapMsgType = 'Alert' | 'Update' | 'Cancel';

export interface CapMessage {
  /** CAP <identifier>: the revision's capIdentifier, one per revision, never reused. */
  identifier: string;
  noticeId: string;
  revision: number;
  msgType: CapMsgType;
  /** CAP <sent>, truncated to the second as written in the XML. */
  sentAt: Date;
  /** CAP <expires> as written in the XML; null when the message does not expire. */
  expiresAt: Date | null;
  /** The whole CAP 1.2 document, UTF-8 with an XML declaration. */
  xml: string;
}

/** One archived CAP message: the message as made; the archive is append-only, a stored message never changes. */
export type CapArchiveRecord = CapMessage;

export interface CapArchive {
  /**
   * Stores a message once. Putting the same identifier again is a no-op, so a retried
   * send is harmless; an identifier already used by another notice or revision throws
   * CapIdentifierConflictError.
   */
  put(record: CapArchiveRecord): Promise<void>;
}

/**
 * An identifier that is already archived for a different notice or revision. Retrying
 * cannot fix it: CAP identifiers must be unique, so aggregators would drop one of them.
 */
export class CapIdentifierConflictError extends Error {
  override name = 'CapIdentifierConflictError';
  readonly identifier: string;

  constructor(identifier: string, existing: { noticeId: string; revision: number }) {
    super(
      `CAP identifier ${identifier} is already archived for notice ${existing.noticeId} revision ${existing.revision}`,
    );
    this.identifier = identifier;
  }
}
