import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * DKIM signing for every mail Hibiki sends (notices and residents' own mails), by
 * nodemailer's `dkim` option. Receivers trust signed mail more, and RFC 8058 §4 allows
 * one-click unsubscribe only when the signature covers List-Unsubscribe and
 * List-Unsubscribe-Post: a forwarder must not be able to add them.
 */

export interface DkimSettings {
  /** d=: the signing domain, normally MAIL_FROM's. */
  domain: string;
  /** s=: the selector; the public key is published at `<selector>._domainkey.<domain>`. */
  selector: string;
  /** A PEM private key (RSA, or Ed25519). */
  keyFile: string;
}

/** What nodemailer's `dkim` option takes. */
export interface DkimSigning {
  domainName: string;
  keySelector: string;
  privateKey: string;
  headerFieldNames: string;
}

/**
 * Signed header fields: RFC 6376 §5.4.1's list, plus List-Unsubscribe-Post (RFC 8058 §4).
 * Spelled out here rather than left to nodemailer's default, so an upgrade cannot drop one.
 */
export const DKIM_HEADER_FIELDS = [
  'From',
  'Sender',
  'Reply-To',
  'Subject',
  'Date',
  'Message-ID',
  'To',
  'Cc',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'In-Reply-To',
  'References',
  'List-Id',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
  'Auto-Submitted',
].join(':');

/** Reads and checks the key once, at start-up: a wrong path must stop the process, not every send. */
export function loadDkim(settings: DkimSettings): DkimSigning {
  let privateKey: string;
  try {
    privateKey = readFileSync(settings.keyFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(
      `MAIL_DKIM_KEY_FILE: DKIM の秘密鍵 ${settings.keyFile} を読めません（${code}）。パスとこのプロセスの読み取り権限を確かめてください / ` +
        `cannot read the DKIM private key ${settings.keyFile} (${code}): check the path and that this process may read it`,
      { cause: err },
    );
  }
  try {
    createPrivateKey(privateKey);
  } catch (err) {
    // The key's bytes are a secret: name the file, never show what is in it.
    throw new Error(
      `MAIL_DKIM_KEY_FILE: ${settings.keyFile} は PEM 形式の秘密鍵ではありません（例: openssl genrsa 2048 で作成） / ` +
        `${settings.keyFile} is not a PEM private key (make one with e.g. openssl genrsa 2048)`,
      { cause: err },
    );
  }
  return {
    domainName: settings.domain,
    keySelector: settings.selector,
    privateKey,
    headerFieldNames: DKIM_HEADER_FIELDS,
  };
}
