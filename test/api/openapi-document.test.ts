import { describe, expect, it } from 'vitest';
import { dropUntypedNullable, operationIdOf, withOperationIds } from '../../src/api/openapi-document.ts';

type Doc = Parameters<typeof withOperationIds>[0];
const docOf = (paths: Record<string, Record<string, Record<string, unknown>>>) =>
  ({ openapi: '3.0.0', info: { title: 't', version: '1' }, paths }) as unknown as Doc;
const opAt = (doc: Doc, path: string, method: string) =>
  ((doc.paths?.[path] ?? {}) as Record<string, { operationId?: string; security?: unknown }>)[method];

describe('the OpenAPI document builder', () => {
  it('derives a camelCase id from the method and the path, leaving out the version', () => {
    expect(operationIdOf('get', '/v1/notices')).toBe('getNotices');
    expect(operationIdOf('post', '/v1/notices/{id}/approve')).toBe('postNoticesByIdApprove');
    expect(operationIdOf('get', '/v1/subscribers/export.csv')).toBe('getSubscribersExportCsv');
    expect(operationIdOf('post', '/v1/webhooks/{id}/rotate-secret')).toBe('postWebhooksByIdRotateSecret');
    expect(operationIdOf('delete', '/push/subscriptions')).toBe('deletePushSubscriptions');
    expect(operationIdOf('get', '/v2/notices', true)).toBe('getV2Notices');
  });

  it('keeps an id given on the route, and keeps ids unique by the version when they would clash', () => {
    const doc = withOperationIds(
      docOf({
        '/v1/notices': { get: { responses: {} }, post: { operationId: 'createNotice', responses: {} } },
        '/v2/notices': { get: { responses: {} } },
        '/healthz': { get: { responses: {} } },
      }),
    );
    expect(opAt(doc, '/v1/notices', 'post')?.operationId).toBe('createNotice');
    expect(opAt(doc, '/v1/notices', 'get')?.operationId).toBe('getV1Notices');
    expect(opAt(doc, '/v2/notices', 'get')?.operationId).toBe('getV2Notices');
    expect(opAt(doc, '/healthz', 'get')?.operationId).toBe('getHealthz');
  });

  it('marks only the listed public operations public, and never overrides a route’s own security', () => {
    const doc = withOperationIds(
      docOf({
        '/healthz': { get: { responses: {} } },
        '/v1/public/subscriptions': { post: { security: [{ bearer: [] }], responses: {} } },
        '/v1/tokens': { get: { responses: {} } },
      }),
    );
    expect(opAt(doc, '/healthz', 'get')?.security).toEqual([]);
    expect(opAt(doc, '/v1/public/subscriptions', 'post')?.security).toEqual([{ bearer: [] }]);
    // Not listed: left without security, so redocly's security-defined rule fails on it.
    expect(opAt(doc, '/v1/tokens', 'get')?.security).toBeUndefined();
  });

  it('drops a nullable that has no type beside it, and only that', () => {
    const schemas = {
      a: { nullable: true },
      b: { type: 'string', nullable: true },
      c: { properties: { x: { nullable: true }, y: { allOf: [{ nullable: true }] } } },
    };
    dropUntypedNullable(schemas);
    expect(schemas).toEqual({
      a: {},
      b: { type: 'string', nullable: true },
      c: { properties: { x: {}, y: { allOf: [{}] } } },
    });
  });
});
