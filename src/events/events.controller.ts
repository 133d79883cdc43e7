import { BadRequestException, Body, Controller, Post } from '@nestjs/common';
import { CurrentPrincipal } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { InvalidEventError } from './event-envelope.js';
import { EventPublisher } from './event-publisher.service.js';
import { PLATFORM_ONLY_EVENT_TYPES } from './event-types.js';
import { PublishEventDto } from './events.dto.js';

export const API_SOURCE = 'api';

/** Other modules and clients publish into their own workspace: the tenant always comes from the token. */
@Controller('events')
export class EventsController {
  constructor(private readonly publisher: EventPublisher) {}

  @Post()
  async publish(@CurrentPrincipal() principal: Principal, @Body() body: PublishEventDto) {
    if (PLATFORM_ONLY_EVENT_TYPES.has(body.type)) {
      throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: [`type ${body.type} is published by the platform only`] });
    }
    try {
      const event = await this.publisher.publish({
        type: body.type,
        data: body.data,
        correlationId: body.correlationId,
        tenantId: principal.workspaceId,
        userId: principal.tokenId,
        source: API_SOURCE,
      });
      return { id: event.id, type: event.type, correlationId: event.correlationId, timestamp: event.timestamp };
    } catch (error) {
      if (error instanceof InvalidEventError) throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: [error.message] });
      throw error;
    }
  }
}
