import type { Role } from '../db/schema.js';

/** Who is calling: resolved from the bearer token by AuthGuard and attached to the request. */
export interface Principal {
  tokenId: string;
  workspaceId: string;
  workspaceSlug: string;
  role: Role;
}

const ROLE_RANK: Record<Role, number> = { member: 0, admin: 1, owner: 2 };

export function hasRole(actual: Role, required: Role): boolean {
  return ROLE_RANK[actual] >= ROLE_RANK[required];
}
