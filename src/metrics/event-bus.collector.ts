import { Injectable } from '@nestjs/common';
import { CONSUMER_GROUP } from '../events/event-bus.keys.js';
import { EventStatsService, type StreamStats } from '../events/event-stats.service.js';
import { MetricsService } from './metrics.service.js';
import { STREAM_LABELS } from './metrics.types.js';
import { snapshotCounter, snapshotGauge } from './snapshot-metrics.js';

/**
 * Fleet-wide state of the streams and the consumer group, from Redis (XINFO STREAM / XINFO GROUPS / XPENDING
 * summary): the same on every replica, so dashboards take max(), not sum(). Series appear once Redis has
 * answered; a zero would be a made-up number (and a counter starting at 0 would fake a throughput spike).
 */
@Injectable()
export class EventBusCollector {
  constructor(metrics: MetricsService, stats: EventStatsService) {
    const snapshot = metrics.snapshotOf<StreamStats>({ name: 'event_bus', fetch: () => stats.getStreamStats() });
    const registry = metrics.registry;
    const main = { stream: STREAM_LABELS.main };
    const dlq = { stream: STREAM_LABELS.dlq };
    const group = { ...main, consumer_group: CONSUMER_GROUP };
    const groupLabels = ['stream', 'consumer_group'] as const;

    snapshotCounter(snapshot, registry, {
      name: 'event_bus_throughput_total',
      help: 'Entries ever added to the stream (Redis entries-added), so it stays right when the stream is trimmed.',
      labelNames: ['stream'],
    }, (s, sample) => {
      sample(s.mainStream.entriesAdded, main);
      sample(s.dlq.entriesAdded, dlq);
    });
    snapshotGauge(snapshot, registry, {
      name: 'event_bus_stream_length',
      help: 'Entries currently in the stream (XLEN), after trimming.',
      labelNames: ['stream'],
    }, (s, sample) => {
      sample(s.mainStream.length, main);
      sample(s.dlq.length, dlq);
    });
    snapshotGauge(snapshot, registry, {
      name: 'event_bus_consumer_lag',
      help: 'Entries not yet delivered to the consumer group (Redis lag); NaN when Redis cannot determine it.',
      labelNames: groupLabels,
    }, (s, sample) => sample(s.consumerGroup.lag ?? Number.NaN, group));
    snapshotGauge(snapshot, registry, {
      name: 'event_bus_consumer_lag_seconds',
      help: 'Age of the oldest event the group has not finished (undelivered or pending), from stream ids; 0 when caught up.',
      labelNames: groupLabels,
    }, (s, sample) => sample(s.consumerGroup.lagSeconds, group));
    snapshotGauge(snapshot, registry, {
      name: 'event_bus_pending_messages',
      help: 'Entries delivered to the group but not yet acknowledged (pending entries list).',
      labelNames: groupLabels,
    }, (s, sample) => sample(s.consumerGroup.pending, group));
    snapshotGauge(snapshot, registry, {
      name: 'event_bus_consumers',
      help: 'Consumers registered in the group (dead ones are removed by the live consumers after their idle timeout).',
      labelNames: groupLabels,
    }, (s, sample) => sample(s.consumerGroup.consumers, group));
    snapshotGauge(snapshot, registry, {
      name: 'event_bus_dlq_size',
      help: 'Entries in the dead-letter stream.',
    }, (s, sample) => sample(s.dlq.length));
    snapshotCounter(snapshot, registry, {
      name: 'event_bus_dlq_trimmed_total',
      help: 'Dead-letter entries dropped because the DLQ reached EVENT_BUS_DLQ_MAXLEN (each drop is also logged).',
    }, (s, sample) => sample(s.dlq.trimmed));
  }
}
