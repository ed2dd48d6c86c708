import { z } from '@hono/zod-openapi';
import { isAreaCode } from '../domain/area-code.ts';

/** An area as staff and residents name it: a JIS X 0402 code, or a district id below one. The error repeats the value. */
export const AreaCode = z.string().refine(isAreaCode, {
  error: (issue) =>
    `JIS X 0402 code (e.g. 432105) or district id (e.g. 432105-01) expected, got ${JSON.stringify(issue.input)}`,
});
