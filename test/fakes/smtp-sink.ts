import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerError, type SMTPServerSession } from 'smtp-server';
import { createStorm, type Storm } from './storm.ts';

/**
 * A local SMTP server that accepts what a real relay would and records it, with faults
 * that can be switched on (a dead mailbox, greylisting, a slow server). Plain SMTP on
 * 127.0.0.1, no AUTH required, no STARTTLS.
 */

export interface SinkEnvelope {
  mailFrom: string;
  rcptTo: string[];
}

export interface SinkMessage {
  envelope: SinkEnvelope;
  parsed: ParsedMail;
  raw: Buffer;
}

export interface SmtpSinkOptions {
  /**
   * parse (default): keep raw bytes and the mailparser result of every message.
   * count: drain bodies unread and keep only envelopes; cheap enough for benchmarks of
   * 10,000+ messages, where `messages` stays empty and `count`/`envelopes` grow.
   */
  record?: 'parse' | 'count';
}

/** One command of a session and the code it was answered with (0: never answered, the storm hung it). */
export interface SinkCommand {
  command: 'CONNECT' | 'MAIL FROM' | 'RCPT TO';
  code: number;
  /** The recipient, for RCPT TO. */
  address?: string;
  /** Date.now() when it arrived. */
  at: number;
}

export interface SmtpSinkStats {
  connections: number;
  /** DATA transactions answered with an error by failNext(). */
  failedData: number;
  /** RCPT TO commands refused by rejectRecipient(). */
  rejectedRecipients: number;
}

export interface SmtpSink {
  port: number;
  url: string;
  /** Accepted messages in arrival order (record: 'parse' only). */
  readonly messages: SinkMessage[];
  /** Envelopes of accepted messages, in every record mode. */
  readonly envelopes: SinkEnvelope[];
  /** Accepted messages so far. */
  readonly count: number;
  readonly stats: SmtpSinkStats;
  /** Connections, MAIL FROM and RCPT TO commands in arrival order, with their answers (to count how often one recipient was asked). */
  readonly commands: SinkCommand[];
  /**
   * Provider storm phases, switched at run time: errors answer MAIL FROM 451 or 421 at
   * random; rate-limit answers every MAIL FROM 421 "try again later"; hang greets no new
   * connection and answers no MAIL FROM.
   */
  readonly storm: Storm;
  /** Answers RCPT TO for this address with the code and text, e.g. 550, '5.1.1 No such user', until reset(). */
  rejectRecipient(address: string, code: number, message: string): void;
  /** Accepts this address again after rejectRecipient(), keeping what was recorded (a mailbox that recovered). */
  acceptRecipient(address: string): void;
  /** Answers the next `count` DATA transactions with the code and text, e.g. 451 greylisting. */
  failNext(count: number, code: number, message: string): void;
  /** Waits this long before answering each DATA transaction. */
  setDelay(ms: number): void;
  /** Resolves once `count` messages have been accepted; rejects after timeoutMs saying how many came. */
  waitFor(count: number, timeoutMs?: number): Promise<SinkMessage[]>;
  /** Forgets recorded messages, counters and faults. */
  reset(): void;
  close(): Promise<void>;
}

function smtpError(code: number, message: string): SMTPServerError {
  const err: SMTPServerError = new Error(message);
  // smtp-server answers with err.responseCode; without it RCPT would default to 550, DATA to 450.
  err.responseCode = code;
  return err;
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const record = options.record ?? 'parse';
  const messages: SinkMessage[] = [];
  const envelopes: SinkEnvelope[] = [];
  const stats: SmtpSinkStats = { connections: 0, failedData: 0, rejectedRecipients: 0 };
  let rejected = new Map<string, { code: number; message: string }>();
  let dataFault: { remaining: number; code: number; message: string } | null = null;
  let delayMs = 0;
  let waiters: Array<{ count: number; resolve: () => void }> = [];
  const commands: SinkCommand[] = [];
  const storm = createStorm();
  let stormErrors = 0;

  const accepted = (envelope: SinkEnvelope, raw?: Buffer, parsed?: ParsedMail) => {
    envelopes.push(envelope);
    if (raw && parsed) messages.push({ envelope, raw, parsed });
    const ready = waiters.filter((w) => envelopes.length >= w.count);
    if (ready.length === 0) return;
    waiters = waiters.filter((w) => envelopes.length < w.count);
    for (const w of ready) w.resolve();
  };

  const envelopeOf = (session: SMTPServerSession): SinkEnvelope => ({
    mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
    rcptTo: session.envelope.rcptTo.map((r) => r.address),
  });

  const onData = (stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null) => void) => {
    const envelope = envelopeOf(session);
    const chunks: Buffer[] = [];
    if (record === 'parse') stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    else stream.resume();
    stream.on('end', () => {
      const answer = async () => {
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        if (dataFault && dataFault.remaining > 0) {
          dataFault.remaining--;
          stats.failedData++;
          const { code, message } = dataFault;
          if (dataFault.remaining === 0) dataFault = null;
          return callback(smtpError(code, message));
        }
        if (record === 'parse') {
          const raw = Buffer.concat(chunks);
          // Recorded before the 250 goes out, so a client that saw 250 finds its message here.
          accepted(envelope, raw, await simpleParser(raw));
        } else {
          accepted(envelope);
        }
        callback();
      };
      answer().catch((err: unknown) => callback(smtpError(451, `4.3.0 sink error: ${String(err)}`)));
    });
  };

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    // Pooled clients keep idle connections open; close() should not wait 30 s for them.
    closeTimeout: 200,
    onConnect(_session, callback) {
      stats.connections++;
      const logged: SinkCommand = { command: 'CONNECT', code: 220, at: Date.now() };
      commands.push(logged);
      if (storm.phase.kind === 'hang') {
        logged.code = 0;
        return storm.hold(() => callback(smtpError(421, '4.3.2 closing')));
      }
      callback();
    },
    onMailFrom(_address, _session, callback) {
      const logged: SinkCommand = { command: 'MAIL FROM', code: 250, at: Date.now() };
      commands.push(logged);
      const verdict = storm.decide();
      if (verdict?.kind === 'hang') {
        logged.code = 0;
        return storm.hold(() => callback(smtpError(421, '4.3.2 closing')));
      }
      if (verdict?.kind === 'rate-limit') {
        logged.code = 421;
        return callback(smtpError(421, '4.7.0 Too many messages, try again later'));
      }
      if (verdict?.kind === 'error') {
        logged.code = stormErrors++ % 2 === 0 ? 451 : 421;
        const text =
          logged.code === 451 ? '4.3.0 Temporary server error, try again later' : '4.3.2 Service not available';
        return callback(smtpError(logged.code, text));
      }
      callback();
    },
    onRcptTo(address, _session, callback) {
      const logged: SinkCommand = { command: 'RCPT TO', code: 250, address: address.address, at: Date.now() };
      commands.push(logged);
      const fault = rejected.get(address.address.toLowerCase());
      if (fault) {
        stats.rejectedRecipients++;
        logged.code = fault.code;
        return callback(smtpError(fault.code, fault.message));
      }
      callback();
    },
    onData,
  });

  // A client that dies mid-transaction resets its connection; a relay carries on with the others.
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    envelopes,
    get count() {
      return envelopes.length;
    },
    stats,
    commands,
    storm,
    rejectRecipient(address, code, message) {
      rejected.set(address.toLowerCase(), { code, message });
    },
    acceptRecipient(address) {
      rejected.delete(address.toLowerCase());
    },
    failNext(count, code, message) {
      dataFault = count > 0 ? { remaining: count, code, message } : null;
    },
    setDelay(ms) {
      delayMs = ms;
    },
    waitFor(count, timeoutMs = 10_000) {
      if (envelopes.length >= count) return Promise.resolve(messages);
      return new Promise<SinkMessage[]>((resolve, reject) => {
        const waiter = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve(messages);
          },
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(new Error(`SMTP sink: ${envelopes.length} of ${count} messages arrived within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    reset() {
      messages.length = 0;
      envelopes.length = 0;
      stats.connections = 0;
      stats.failedData = 0;
      stats.rejectedRecipients = 0;
      rejected = new Map();
      dataFault = null;
      delayMs = 0;
      commands.length = 0;
      storm.set({ kind: 'calm' });
    },
    close() {
      storm.release();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
