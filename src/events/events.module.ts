import { Global, Module } from '@nestjs/common';
import { EventBusTelemetry } from './event-bus.telemetry.js';
import { EventPublisher } from './event-publisher.service.js';

/** Global so every domain module can publish without importing the bus's internals. */
@Global()
@Module({
  providers: [EventPublisher, EventBusTelemetry],
  exports: [EventPublisher, EventBusTelemetry],
})
export class EventsModule {}
