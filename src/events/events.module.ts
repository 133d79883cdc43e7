import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { EventBusKeys } from './event-bus.keys.js';
import { EventBusTelemetry } from './event-bus.telemetry.js';
import { EventConsumer } from './event-consumer.service.js';
import { EventDlqService } from './event-dlq.service.js';
import { EventProcessor } from './event-processor.service.js';
import { EventPublisher } from './event-publisher.service.js';
import { EventReplayService } from './event-replay.service.js';
import { EventStatsService } from './event-stats.service.js';
import { EventSubscriptions } from './event-subscriptions.js';
import { EventsAdminController } from './events-admin.controller.js';
import { EventsController } from './events.controller.js';

/** Global so every domain module can publish without importing the bus's internals. */
@Global()
@Module({
  controllers: [EventsController, EventsAdminController],
  providers: [
    { provide: EventBusKeys, useFactory: EventBusKeys.from, inject: [AppConfig] },
    EventPublisher,
    EventBusTelemetry,
    EventSubscriptions,
    EventProcessor,
    EventConsumer,
    EventDlqService,
    EventReplayService,
    EventStatsService,
  ],
  exports: [EventPublisher, EventBusTelemetry, EventSubscriptions, EventStatsService],
})
export class EventsModule {}
