import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { EventBusTelemetry, type EventBusTelemetryListener, type ProcessingOutcome } from '../events/event-bus.telemetry.js';
import { eventTypeLabel, KNOWN_EVENT_TYPES, OTHER_EVENT_TYPE } from '../events/event-types.js';
import { MetricsService } from './metrics.service.js';
import { EVENT_PROCESSING_BUCKETS } from './metrics.types.js';

const OUTCOMES: ProcessingOutcome[] = ['success', 'retried', 'dead_lettered'];

/** What this process did on the bus (published, processed, how long handlers took), from EventBusTelemetry. */
@Injectable()
export class EventActivityCollector implements EventBusTelemetryListener {
  private readonly publishedTotal: Counter<'type'>;
  private readonly processedTotal: Counter<'type' | 'outcome'>;
  private readonly duration: Histogram<'type'>;

  constructor(metrics: MetricsService, telemetry: EventBusTelemetry) {
    const registers = [metrics.registry];
    this.publishedTotal = new Counter({
      name: 'event_bus_events_published_total',
      help: 'Events this process published, by type (types not declared in code are "other").',
      labelNames: ['type'],
      registers,
    });
    this.processedTotal = new Counter({
      name: 'event_bus_events_processed_total',
      help: 'Processing attempts this process finished, by type and outcome (success, retried = failed and will be redelivered, dead_lettered).',
      labelNames: ['type', 'outcome'],
      registers,
    });
    this.duration = new Histogram({
      name: 'event_bus_processing_duration_seconds',
      help: 'Time to run all matching handlers for one event attempt, by type.',
      labelNames: ['type'],
      buckets: EVENT_PROCESSING_BUCKETS,
      registers,
    });
    for (const type of [...KNOWN_EVENT_TYPES, OTHER_EVENT_TYPE]) {
      this.publishedTotal.inc({ type }, 0);
      for (const outcome of OUTCOMES) this.processedTotal.inc({ type, outcome }, 0);
    }
    telemetry.subscribe(this);
  }

  published(type: string): void {
    this.publishedTotal.inc({ type: eventTypeLabel(type) });
  }

  processed(type: string, outcome: ProcessingOutcome, durationSeconds: number): void {
    const label = eventTypeLabel(type);
    this.processedTotal.inc({ type: label, outcome });
    this.duration.observe({ type: label }, durationSeconds);
  }
}
