import { describe, expect, it } from 'vitest';
import { describeOutboundFailure, networkErrorCode } from '../../../channels/shared/network-failure.ts';
import { OutboundRefusedError } from '../../../channels/shared/outbound-http.ts';

describe('networkErrorCode', () => {
  it('reads the code from the error, else from its cause, else an abort or timeout by name', () => {
    expect(networkErrorCode(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    expect(networkErrorCode(new Error('fetch failed', { cause: { code: 'ENOTFOUND' } }))).toBe('ENOTFOUND');
    expect(networkErrorCode(new DOMException('stop', 'AbortError'))).toBe('AbortError');
    expect(networkErrorCode(new Error('plain'))).toBeUndefined();
    expect(networkErrorCode(null)).toBeUndefined();
  });
});

describe('describeOutboundFailure', () => {
  it('tells a refused address, an abort, DNS and the rest apart, and no more than that', () => {
    expect(describeOutboundFailure(new OutboundRefusedError('h', 'loopback', '127.0.0.1'), 'h').kind).toBe(
      'address-refused',
    );
    expect(describeOutboundFailure(new Error('x'), 'h', true).kind).toBe('aborted');
    expect(describeOutboundFailure(Object.assign(new Error('x'), { code: 'EAI_AGAIN' }), 'h').kind).toBe('dns');
    const reset = describeOutboundFailure(Object.assign(new Error('x'), { code: 'ECONNRESET' }), 'h');
    const refused = describeOutboundFailure(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 'h');
    expect(reset.kind).toBe('connect');
    expect(reset.reason).toBe(refused.reason);
    expect(reset.code).toBe('ECONNRESET');
  });
});
