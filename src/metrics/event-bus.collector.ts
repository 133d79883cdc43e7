import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { CONSUMER_GROUP } from '../events/event-bus.keys.js';
import { EventStatsService, type StreamStats } from '../events/event-stats.service.js';
import { MetricsService } from './metrics.service.js';
import { STREAM_LABELS } from './metrics.types.js';

/**
 * Fleet-wide state of the streams and the consumer group, from Redis (XINFO STREAM / XINFO GROUPS / XPENDING
 * summary): the same on every replica, so dashboards take max(), not sum(). Series appear once Redis has
 * answered; a zero would be a made-up number (and a counter starting at 0 would fake a throughput spike).
 */
@Injectable()
export class EventBusCollector {
  constructor(metrics: MetricsService, stats: EventStatsService) {
    const snapshot = metrics.snapshotOf<StreamStats>({ name: 'event_bus', fetch: () => stats.getStreamStats() });
    const registers = [metrics.registry];
    const group = { stream: STREAM_LABELS.main, consumer_group: CONSUMER_GROUP };

    new Counter({
      name: 'event_bus_throughput_total',
      help: 'Entries ever added to the stream (Redis entries-added), so it stays right when the stream is trimmed.',
      labelNames: ['stream'],
      registers,
      collect() {
        const s = snapshot.latest;
        if (!s) return;
        this.reset();
        this.inc({ stream: STREAM_LABELS.main }, s.mainStream.entriesAdded);
        this.inc({ stream: STREAM_LABELS.dlq }, s.dlq.entriesAdded);
      },
    });
    new Gauge({
      name: 'event_bus_stream_length',
      help: 'Entries currently in the stream (XLEN), after trimming.',
      labelNames: ['stream'],
      registers,
      collect() {
        const s = snapshot.latest;
        if (!s) return;
        this.set({ stream: STREAM_LABELS.main }, s.mainStream.length);
        this.set({ stream: STREAM_LABELS.dlq }, s.dlq.length);
      },
    });
    new Gauge({
      name: 'event_bus_consumer_lag',
      help: 'Entries not yet delivered to the consumer group (Redis lag); NaN when Redis cannot determine it.',
      labelNames: ['stream', 'consumer_group'],
      registers,
      collect() {
        const s = snapshot.latest;
        if (s) this.set(group, s.consumerGroup.lag ?? Number.NaN);
      },
    });
    new Gauge({
      name: 'event_bus_consumer_lag_seconds',
      help: 'Age of the oldest event the group has not finished (undelivered or pending), from stream ids; 0 when caught up.',
      labelNames: ['stream', 'consumer_group'],
      registers,
      collect() {
        const s = snapshot.latest;
        if (s) this.set(group, s.consumerGroup.lagSeconds);
      },
    });
    new Gauge({
      name: 'event_bus_pending_messages',
      help: 'Entries delivered to the group but not yet acknowledged (pending entries list).',
      labelNames: ['stream', 'consumer_group'],
      registers,
      collect() {
        const s = snapshot.latest;
        if (s) this.set(group, s.consumerGroup.pending);
      },
    });
    new Gauge({
      name: 'event_bus_consumers',
      help: 'Consumers registered in the group (including ones that died and have not been removed).',
      labelNames: ['stream', 'consumer_group'],
      registers,
      collect() {
        const s = snapshot.latest;
        if (s) this.set(group, s.consumerGroup.consumers);
      },
    });
    new Counter({
      name: 'event_bus_dlq_trimmed_total',
      help: 'Dead-letter entries dropped because the DLQ reached EVENT_BUS_DLQ_MAXLEN (each drop is also logged).',
      registers,
      collect() {
        const s = snapshot.latest;
        if (!s) return;
        this.reset();
        this.inc(s.dlq.trimmed);
      },
    });
    new Gauge({
      name: 'event_bus_dlq_size',
      help: 'Entries in the dead-letter stream.',
      registers,
      collect() {
        const s = snapshot.latest;
        if (s) this.set(s.dlq.length);
      },
    });
  }
}
