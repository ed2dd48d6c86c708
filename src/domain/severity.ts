import type { Severity } from './notice.ts';

/**
 * BullMQ priority per severity (1 runs first). Every job gets one: BullMQ runs jobs
 * without a priority before any prioritised job, which would let routine work jump ahead.
 */
const PRIORITY: Record<Severity, number> = { emergency: 1, warning: 3, advisory: 6, info: 10 };

export function severityToPriority(severity: Severity): number {
  return PRIORITY[severity];
}

/** Emergencies and warnings are delivered on the urgent lane (src/queue/names.ts). */
export function laneOfPriority(priority: number): 'urgent' | 'routine' {
  return priority <= PRIORITY.warning ? 'urgent' : 'routine';
}
