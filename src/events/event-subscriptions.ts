import { Injectable } from '@nestjs/common';
import type { EventEnvelope } from './event-envelope.js';

export type EventHandler = (event: EventEnvelope) => Promise<void> | void;

export interface SubscribeOptions {
  /** Attempts before the event goes to the DLQ; EVENT_BUS_MAX_RETRIES when absent. */
  maxRetries?: number;
}

export interface Subscription {
  /** Stable and unique: recorded per event once the handler succeeded, so retries skip it. */
  name: string;
  pattern: string;
  handler: EventHandler;
  maxRetries?: number;
}

/** Patterns: `*` (everything), `prefix.*` (e.g. `approval.*`, `approval.item.*`) or an exact type. */
export function patternMatches(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

const PATTERN = /^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,2}\.\*|[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)$/;

/** Where modules register their handlers (usually in onModuleInit); the consumer asks it who handles a type. */
@Injectable()
export class EventSubscriptions {
  private readonly subscriptions: Subscription[] = [];

  subscribe(name: string, pattern: string, handler: EventHandler, options: SubscribeOptions = {}): void {
    if (!PATTERN.test(pattern)) throw new Error(`Invalid subscription pattern "${pattern}" (use *, prefix.* or an exact type)`);
    if (this.subscriptions.some((s) => s.name === name)) throw new Error(`A subscription named "${name}" already exists`);
    this.subscriptions.push({ name, pattern, handler, maxRetries: options.maxRetries });
  }

  matching(type: string): Subscription[] {
    return this.subscriptions.filter((s) => patternMatches(s.pattern, type));
  }
}
