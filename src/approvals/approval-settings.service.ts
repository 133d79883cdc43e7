import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import { eq, sql } from 'drizzle-orm';
import { DB, type Database } from '../db/db.module.js';
import { workspaceSettings } from '../db/schema.js';
import type { ApprovalSettings } from './approval.types.js';
import type { UpdateApprovalSettingsDto } from './dto/update-settings.dto.js';

@Injectable()
export class ApprovalSettingsService {
  constructor(@Inject(DB) private readonly db: Database) {}

  /** The workspace's settings; a workspace without a row gets one with the defaults on first read. */
  async get(workspaceId: string): Promise<ApprovalSettings> {
    const [existing] = await this.db.select().from(workspaceSettings).where(eq(workspaceSettings.workspaceId, workspaceId));
    if (existing) return existing;
    await this.db.insert(workspaceSettings).values({ workspaceId }).onConflictDoNothing();
    const [created] = await this.db.select().from(workspaceSettings).where(eq(workspaceSettings.workspaceId, workspaceId));
    return created!;
  }

  /**
   * Merges the given fields into the current row under a row lock, so two partial updates at once cannot
   * combine into thresholds that neither caller checked.
   */
  async update(workspaceId: string, changes: UpdateApprovalSettingsDto): Promise<ApprovalSettings> {
    return this.db.transaction(async (tx) => {
      await tx.insert(workspaceSettings).values({ workspaceId }).onConflictDoNothing();
      const [current] = await tx
        .select()
        .from(workspaceSettings)
        .where(eq(workspaceSettings.workspaceId, workspaceId))
        .for('update');
      const next = {
        autoApproveThreshold: changes.autoApproveThreshold ?? current!.autoApproveThreshold,
        quickReviewThreshold: changes.quickReviewThreshold ?? current!.quickReviewThreshold,
        approvalTimeoutHours: changes.approvalTimeoutHours ?? current!.approvalTimeoutHours,
      };
      if (next.quickReviewThreshold > next.autoApproveThreshold) {
        // Name the field the caller sent; when both were sent, the quick-review one.
        const field = changes.quickReviewThreshold !== undefined ? 'quickReviewThreshold' : 'autoApproveThreshold';
        throw new BadRequestException({
          statusCode: 400,
          error: 'Bad Request',
          message: [
            `${field} must keep quickReviewThreshold (${next.quickReviewThreshold}) <= autoApproveThreshold (${next.autoApproveThreshold})`,
          ],
        });
      }
      const [updated] = await tx
        .update(workspaceSettings)
        .set({ ...next, updatedAt: sql`now()` })
        .where(eq(workspaceSettings.workspaceId, workspaceId))
        .returning();
      return updated!;
    });
  }
}
