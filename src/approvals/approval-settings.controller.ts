import { Body, Controller, Get, Put } from '@nestjs/common';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { ApprovalSettingsService } from './approval-settings.service.js';
import type { ApprovalSettings } from './approval.types.js';
import { UpdateApprovalSettingsDto } from './dto/update-settings.dto.js';

/** Registered before ApprovalsController, so `settings` is never taken for an item id. */
@Controller('approvals/settings')
export class ApprovalSettingsController {
  constructor(private readonly settings: ApprovalSettingsService) {}

  @Get()
  get(@CurrentPrincipal() principal: Principal): Promise<ApprovalSettings> {
    return this.settings.get(principal.workspaceId);
  }

  @Put()
  @Roles('owner')
  update(@CurrentPrincipal() principal: Principal, @Body() body: UpdateApprovalSettingsDto): Promise<ApprovalSettings> {
    return this.settings.update(principal.workspaceId, body);
  }
}
