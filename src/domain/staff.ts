/** Staff roles and who is acting: each role can do everything the roles below it can. */
export type StaffRole = 'author' | 'approver' | 'admin';

export const STAFF_ROLES = ['author', 'approver', 'admin'] as const satisfies readonly StaffRole[];

/** The member of staff (or token) a request acts as. */
export interface StaffIdentity {
  tokenId: number;
  name: string;
  role: StaffRole;
}

const RANK: Record<StaffRole, number> = { author: 1, approver: 2, admin: 3 };

const ROLE_JA: Record<StaffRole, string> = {
  author: '作成者(author)',
  approver: '承認者(approver)',
  admin: '管理者(admin)',
};

export function hasRole(identity: Pick<StaffIdentity, 'role'>, needed: StaffRole): boolean {
  return RANK[identity.role] >= RANK[needed];
}

export function roleLabel(role: StaffRole): string {
  return ROLE_JA[role];
}
