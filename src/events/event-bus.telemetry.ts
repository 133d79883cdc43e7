import { Injectable } from '@nestjs/common';

export type ProcessingOutcome = 'success' | 'retried' | 'dead_lettered';

export interface EventBusTelemetryListener {
  published(type: string): void;
  processed(type: string, outcome: ProcessingOutcome, durationSeconds: number): void;
}

/**
 * What this process did on the bus, told to whoever listens (the metrics module). The bus itself never
 * imports prom-client; with no listener these calls cost a loop over an empty array.
 */
@Injectable()
export class EventBusTelemetry {
  private readonly listeners: EventBusTelemetryListener[] = [];

  subscribe(listener: EventBusTelemetryListener): void {
    this.listeners.push(listener);
  }

  published(type: string): void {
    for (const listener of this.listeners) listener.published(type);
  }

  processed(type: string, outcome: ProcessingOutcome, durationSeconds: number): void {
    for (const listener of this.listeners) listener.processed(type, outcome, durationSeconds);
  }
}
