import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import type { ApprovalItem, ApprovalPage, BulkDecisionResult } from './approval.types.js';
import { ApprovalsService } from './approvals.service.js';
import { CreateApprovalDto } from './dto/create-approval.dto.js';
import { ApproveDto, BulkDecisionDto, RejectDto } from './dto/decision.dto.js';
import { ListApprovalsQuery } from './dto/list-approvals.query.js';

/** A malformed id can name no item: 400 naming the parameter, never a database error. */
const ApprovalId = new ParseUUIDPipe({
  exceptionFactory: () => new BadRequestException({ statusCode: 400, error: 'Bad Request', message: ['id must be a UUID'] }),
});

@Controller('approvals')
export class ApprovalsController {
  constructor(private readonly approvals: ApprovalsService) {}

  /** The caller's token id is the requester: there is no user table. */
  @Post()
  async create(@CurrentPrincipal() principal: Principal, @Body() body: CreateApprovalDto): Promise<ApprovalItem> {
    return (await this.approvals.create(principal.workspaceId, principal.tokenId, body))!;
  }

  @Get()
  list(@CurrentPrincipal() principal: Principal, @Query() query: ListApprovalsQuery): Promise<ApprovalPage> {
    return this.approvals.list(principal.workspaceId, query);
  }

  @Post('bulk')
  @Roles('admin')
  @HttpCode(HttpStatus.OK)
  bulk(@CurrentPrincipal() principal: Principal, @Body() body: BulkDecisionDto): Promise<BulkDecisionResult> {
    const { ids, ...decision } = body;
    return this.approvals.decideMany(principal.workspaceId, ids, decision, principal.tokenId);
  }

  @Get(':id')
  findOne(@CurrentPrincipal() principal: Principal, @Param('id', ApprovalId) id: string): Promise<ApprovalItem> {
    return this.approvals.findOne(principal.workspaceId, id);
  }

  @Post(':id/approve')
  @Roles('admin')
  @HttpCode(HttpStatus.OK)
  approve(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ApprovalId) id: string,
    @Body() body: ApproveDto,
  ): Promise<ApprovalItem> {
    return this.approvals.decide(principal.workspaceId, id, { action: 'approve', notes: body.notes }, principal.tokenId);
  }

  @Post(':id/reject')
  @Roles('admin')
  @HttpCode(HttpStatus.OK)
  reject(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ApprovalId) id: string,
    @Body() body: RejectDto,
  ): Promise<ApprovalItem> {
    return this.approvals.decide(principal.workspaceId, id, { action: 'reject', reason: body.reason }, principal.tokenId);
  }

  /** Cancels the item (it stays readable, with status `cancelled`). */
  @Delete(':id')
  @Roles('admin')
  cancel(@CurrentPrincipal() principal: Principal, @Param('id', ApprovalId) id: string): Promise<ApprovalItem> {
    return this.approvals.decide(principal.workspaceId, id, { action: 'cancel' }, principal.tokenId);
  }
}
