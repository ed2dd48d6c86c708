import { createApprovalsPage } from './approvals-page.tsx';
import { createAuditPage } from './audit-page.tsx';
import { createComposePage } from './compose-routes.tsx';
import type { ConsolePageModule } from './console-routes.tsx';
import { createNoticeDetailPage } from './notice-detail-routes.tsx';
import { createNoticeListPage } from './notice-list-page.tsx';
import { createQueuesBoard } from './queues-board.ts';
import { createTokensPage } from './tokens-page.tsx';

/** Every console page module, in the order their routes are tried. */
export const CONSOLE_PAGES: ConsolePageModule[] = [
  createNoticeListPage,
  createNoticeDetailPage,
  createComposePage,
  createApprovalsPage,
  createAuditPage,
  createTokensPage,
  createQueuesBoard,
];
