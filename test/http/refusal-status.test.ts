import { describe, expect, it } from 'vitest';
import { invalidFields, notFound, Refusal } from '../../src/domain/refusal.ts';
import { ApiError, asApiError, errorBody, REFUSAL_STATUS } from '../../src/http/errors.ts';

describe('a service refusal as the API answers it', () => {
  it('maps each kind to one status', () => {
    expect(REFUSAL_STATUS).toEqual({
      invalid: 400,
      forbidden: 403,
      not_found: 404,
      conflict: 409,
      unprocessable: 422,
      unavailable: 503,
    });
  });
  it('gives the same body an ApiError gives', () => {
    const reason = { ja: '理由', en: 'reason' };
    const refused = asApiError(invalidFields({ title: [reason] }));
    const direct = new ApiError(
      400,
      'validation_failed',
      { ja: '入力内容に誤りがあります: title', en: 'Invalid input: title' },
      { fields: { title: [reason] } },
    );
    expect(refused?.status).toBe(400);
    expect(errorBody(refused as ApiError, 'r-1')).toEqual(errorBody(direct, 'r-1'));
    expect(asApiError(notFound({ ja: '通知 n-1 ', en: 'Notice n-1' }))).toMatchObject({
      status: 404,
      code: 'not_found',
      message: '通知 n-1 が見つかりません',
      messageEn: 'Notice n-1 not found',
    });
    expect(asApiError(new Refusal('conflict', 'x', reason))?.status).toBe(409);
    expect(asApiError(new Error('boom'))).toBeUndefined();
  });
});
