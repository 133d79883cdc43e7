import { AppConfig } from '../config/app-config.js';

export const CONSUMER_GROUP = 'hyvve-platform';

/** Redis keys of the bus, under EVENT_BUS_PREFIX so several deployments or test runs can share one Redis. */
export class EventBusKeys {
  readonly main: string;
  readonly dlq: string;
  /** Sorted set: main-stream ids of failed events awaiting redelivery, scored by the ms timestamp they are due. */
  readonly retry: string;
  /** Hash: event id → DLQ stream id, so an admin action finds its DLQ entry without scanning the stream. */
  readonly dlqIndex: string;
  /** Counter: DLQ entries dropped because the DLQ reached EVENT_BUS_DLQ_MAXLEN. */
  readonly dlqTrimmed: string;
  /** Sorted set: consumer name → ms of its last heartbeat (Redis 7.0 does not refresh an idle consumer's idle time). */
  readonly consumers: string;

  constructor(readonly prefix: string) {
    this.main = `${prefix}:events:main`;
    this.dlq = `${prefix}:events:dlq`;
    this.retry = `${prefix}:events:retry`;
    this.dlqIndex = `${prefix}:events:dlq:index`;
    this.dlqTrimmed = `${prefix}:events:dlq:trimmed`;
    this.consumers = `${prefix}:events:consumers`;
  }

  /** The deployment's keys; EventsModule provides this instance to every service of the bus. */
  static from(config: AppConfig): EventBusKeys {
    return new EventBusKeys(config.env.EVENT_BUS_PREFIX);
  }
}
