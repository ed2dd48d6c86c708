import { createApprovals } from './approvals.ts';
import { createNoticeContext, type ServiceDeps } from './context.ts';
import { createLifecycle } from './lifecycle.ts';
import { createPreviews } from './preview.ts';
import { createQueries } from './queries.ts';
import { createRelease } from './release.ts';

export type { ApprovalCheck, ApprovalState, ApprovalStepView } from '../../domain/approval.ts';
export type { DerivedStatus, StatusCounts } from '../../domain/notice-status.ts';
export {
  type CorrectionInput,
  canonicalHash,
  DEPARTMENT_MAX,
  type NoticeInput,
  type ResubmitInput,
  revisionContent,
} from './input.ts';
export { redactAddresses } from './queries.ts';
export type * from './types.ts';

export type NoticeService = ReturnType<typeof createNoticeService>;

/**
 * Every notice operation, in one place, so the API and the console do the same checks,
 * write the same audit entries and enqueue the same jobs. Each part does one job: the
 * lifecycle (post, correct, cancel, retry), approvals, previews and queries; the rules they
 * follow are pure functions in src/domain.
 */
export function createNoticeService(deps: ServiceDeps) {
  const ctx = createNoticeContext(deps);
  const release = createRelease(ctx);
  return {
    ...createLifecycle(ctx, release),
    ...createApprovals(ctx, release),
    ...createPreviews(ctx),
    ...createQueries(ctx),
  };
}
