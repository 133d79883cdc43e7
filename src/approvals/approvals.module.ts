import { Module } from '@nestjs/common';
import { ApprovalEscalationService } from './approval-escalation.service.js';
import { ApprovalEventPublisher } from './approval-event-publisher.js';
import { ApprovalQueueStatsService } from './approval-queue-stats.service.js';
import { ApprovalRequestSubscriber } from './approval-request.subscriber.js';
import { ApprovalSettingsController } from './approval-settings.controller.js';
import { ApprovalSettingsService } from './approval-settings.service.js';
import { ApprovalsController } from './approvals.controller.js';
import { ApprovalsService } from './approvals.service.js';

@Module({
  // Order matters: /approvals/settings must be routed before /approvals/:id.
  controllers: [ApprovalSettingsController, ApprovalsController],
  providers: [
    ApprovalsService,
    ApprovalSettingsService,
    ApprovalEventPublisher,
    ApprovalQueueStatsService,
    ApprovalEscalationService,
    ApprovalRequestSubscriber,
  ],
  exports: [ApprovalsService, ApprovalQueueStatsService, ApprovalEscalationService],
})
export class ApprovalsModule {}
