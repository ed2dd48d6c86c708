import type { InternalKind } from './address-policy.ts';
import { OutboundRefusedError } from './outbound-http.ts';

/**
 * The words for a request that got no HTTP answer, one way for every channel: what staff
 * read in a delivery row, and the code operators read in the log.
 */

export type OutboundFailureKind = 'address-refused' | 'dns' | 'connect' | 'aborted';

export interface OutboundFailure {
  kind: OutboundFailureKind;
  /** For delivery rows staff read: what failed, in words, in Japanese and English. */
  reason: string;
  /** The socket's code, for operators' logs only. */
  code: string | undefined;
}

const KIND_JA: Record<InternalKind, string> = {
  loopback: 'ループバック',
  private: 'プライベート',
  'link-local': 'リンクローカル',
  'shared (CGNAT)': 'CGNAT 共有',
  multicast: 'マルチキャスト',
  unspecified: '未指定',
  'cloud metadata': 'クラウドのメタデータ',
  reserved: '予約済み',
};

/**
 * What a request that got no HTTP answer tells staff. A refused connection, a reset, a
 * TLS failure and a timeout read the same on purpose: telling them apart would tell an
 * author which ports of a host are open, and with what (a port scan through Hibiki).
 * The exact code goes to the operators' log instead.
 */
export function describeOutboundFailure(err: unknown, host: string, aborted = false): OutboundFailure {
  const code = networkErrorCode(err);
  if (err instanceof OutboundRefusedError) {
    return {
      kind: 'address-refused',
      code,
      reason:
        `宛先は内部アドレス（${KIND_JA[err.kind]}）のため送信しません / address not allowed: ${host} is a ${err.kind} address; ` +
        'ask the operator to name it in OUTBOUND_ALLOW if this receiver is meant to be inside the network',
    };
  }
  if (aborted) return { kind: 'aborted', code, reason: `送信を中断しました / sending to ${host} was aborted` };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NODATA' || code === 'EAI_NONAME') {
    return {
      kind: 'dns',
      code,
      reason: `宛先の名前を引けませんでした / the name ${host} could not be resolved (DNS); check the URL`,
    };
  }
  return {
    kind: 'connect',
    code,
    reason:
      `接続できませんでした / could not connect to ${host} or got no answer ` +
      '(connection refused or reset, TLS failure, or no answer in time); check the URL and that the receiver is up',
  };
}

/** The socket's code of a request that got no answer (node:http puts it on the error, fetch on its cause). */
export function networkErrorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown }; name?: unknown } | null;
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return String(e.name);
  return undefined;
}
