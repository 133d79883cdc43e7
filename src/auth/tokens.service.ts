import { Inject, Injectable } from '@nestjs/common';
import { eq } from 'drizzle-orm';
import { createHash, randomBytes } from 'node:crypto';
import { DB, type Database } from '../db/db.module.js';
import { apiTokens, workspaceSettings, workspaces, type Role } from '../db/schema.js';
import type { Principal } from './principal.js';

const TOKEN_PREFIX = 'hyv_';
const TOKEN_BYTES = 32;

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

@Injectable()
export class TokensService {
  constructor(@Inject(DB) private readonly db: Database) {}

  /** Creates the workspace when needed and returns the new token, which is never stored in clear. */
  async create(workspaceSlug: string, role: Role, name?: string): Promise<{ token: string; principal: Principal }> {
    const workspaceId = await this.ensureWorkspace(workspaceSlug);
    const token = TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
    const [row] = await this.db
      .insert(apiTokens)
      .values({ workspaceId, tokenHash: hashToken(token), role, name })
      .returning({ id: apiTokens.id });
    return { token, principal: { tokenId: row!.id, workspaceId, workspaceSlug, role } };
  }

  async resolve(token: string): Promise<Principal | undefined> {
    const [row] = await this.db
      .select({ tokenId: apiTokens.id, role: apiTokens.role, workspaceId: workspaces.id, workspaceSlug: workspaces.slug })
      .from(apiTokens)
      .innerJoin(workspaces, eq(workspaces.id, apiTokens.workspaceId))
      .where(eq(apiTokens.tokenHash, hashToken(token)))
      .limit(1);
    return row;
  }

  private async ensureWorkspace(slug: string): Promise<string> {
    await this.db.insert(workspaces).values({ slug, name: slug }).onConflictDoNothing({ target: workspaces.slug });
    const [row] = await this.db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.slug, slug));
    await this.db.insert(workspaceSettings).values({ workspaceId: row!.id }).onConflictDoNothing();
    return row!.id;
  }
}
