import { AppConfig } from '../config/app-config.js';

export const CONSUMER_GROUP = 'hyvve-platform';

/** Redis keys of the bus, under EVENT_BUS_PREFIX so several deployments or test runs can share one Redis. */
export class EventBusKeys {
  readonly main: string;
  readonly dlq: string;
  constructor(readonly prefix: string) {
    this.main = `${prefix}:events:main`;
    this.dlq = `${prefix}:events:dlq`;
  }

  static from(config: AppConfig): EventBusKeys {
    return new EventBusKeys(config.env.EVENT_BUS_PREFIX);
  }
}
