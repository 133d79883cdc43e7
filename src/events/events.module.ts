import { Global, Module } from '@nestjs/common';
import { EventBusTelemetry } from './event-bus.telemetry.js';
import { EventPublisher } from './event-publisher.service.js';
import { EventSubscriptions } from './event-subscriptions.js';

/** Global so every domain module can publish without importing the bus's internals. */
@Global()
@Module({
  providers: [EventPublisher, EventBusTelemetry, EventSubscriptions],
  exports: [EventPublisher, EventBusTelemetry, EventSubscriptions],
})
export class EventsModule {}
