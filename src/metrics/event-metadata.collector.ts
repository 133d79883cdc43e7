import { Injectable } from '@nestjs/common';
import { EVENT_STATUSES, type EventStatus } from '../db/schema.js';
import { EventStatsService } from '../events/event-stats.service.js';
import { MetricsService } from './metrics.service.js';
import { RECENT_EVENTS_WINDOW_MS } from './metrics.types.js';
import { snapshotGauge } from './snapshot-metrics.js';

/** EventMetadata rows of the last hour by status, from PostgreSQL: a fleet-wide view of how events fare. */
@Injectable()
export class EventMetadataCollector {
  constructor(metrics: MetricsService, stats: EventStatsService) {
    const snapshot = metrics.snapshotOf<Record<EventStatus, number>>({
      name: 'event_metadata',
      fetch: () => stats.countRecentByStatus(RECENT_EVENTS_WINDOW_MS),
    });
    snapshotGauge(snapshot, metrics.registry, {
      name: 'event_bus_recent_events',
      help: 'Events created in the last hour, by their current status (all five statuses, zeros included).',
      labelNames: ['status'],
    }, (counts, sample) => {
      for (const status of EVENT_STATUSES) sample(counts[status] ?? 0, { status });
    });
  }
}
