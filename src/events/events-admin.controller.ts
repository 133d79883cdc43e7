import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { EventDlqService } from './event-dlq.service.js';
import { EventReplayService } from './event-replay.service.js';
import { EventStatsService } from './event-stats.service.js';
import { DLQ_PAGE_DEFAULT, DlqListQuery, EventIdParams, ReplayEventsDto } from './events.dto.js';

/** Operating the bus. Everything is scoped to the caller's workspace, except the stream/group figures of stats. */
@Controller('admin/events')
@Roles('admin')
export class EventsAdminController {
  constructor(
    private readonly dlq: EventDlqService,
    private readonly replay: EventReplayService,
    private readonly stats: EventStatsService,
  ) {}

  @Get('dlq')
  listDlq(@CurrentPrincipal() principal: Principal, @Query() query: DlqListQuery) {
    return this.dlq.list(principal.workspaceId, query.limit ?? DLQ_PAGE_DEFAULT, query.cursor);
  }

  @Post('dlq/:eventId/retry')
  @HttpCode(HttpStatus.ACCEPTED)
  async retryDlq(@CurrentPrincipal() principal: Principal, @Param() params: EventIdParams) {
    const { eventId, streamId } = await this.dlq.retry(principal.workspaceId, params.eventId);
    return { eventId, streamId, status: 'requeued' };
  }

  @Delete('dlq/:eventId')
  @HttpCode(HttpStatus.NO_CONTENT)
  async deleteDlq(@CurrentPrincipal() principal: Principal, @Param() params: EventIdParams): Promise<void> {
    await this.dlq.remove(principal.workspaceId, params.eventId);
  }

  @Post('replay')
  @HttpCode(HttpStatus.ACCEPTED)
  startReplay(@CurrentPrincipal() principal: Principal, @Body() body: ReplayEventsDto) {
    return this.replay.start(principal.workspaceId, {
      startTime: new Date(body.startTime),
      endTime: new Date(body.endTime),
      eventTypes: body.eventTypes,
    });
  }

  @Get('replay/:jobId')
  getReplay(@CurrentPrincipal() principal: Principal, @Param('jobId', new ParseUUIDPipe()) jobId: string) {
    return this.replay.get(principal.workspaceId, jobId);
  }

  /** Stream and group numbers are deployment-wide infrastructure figures; throughput is this workspace's. */
  @Get('stats')
  getStats(@CurrentPrincipal() principal: Principal) {
    return this.stats.getStats(principal.workspaceId);
  }
}
