import { Injectable, Logger } from '@nestjs/common';
import type { AiProvider } from '../db/schema.js';

/**
 * How one provider health check ended. A closed set, so it can be a metric label:
 * - success: the provider accepted the key and answered in the expected shape;
 * - unauthorized: the provider rejected the key (401/403, Gemini's 400 API_KEY_INVALID);
 * - timeout: no complete answer within AI_PROVIDER_HEALTH_TIMEOUT_MS;
 * - bad_response: an answer, but not a usable one (other status, redirect, non-JSON or unexpected JSON);
 * - unreachable: no HTTP answer at all (connection refused or reset, DNS, TLS);
 * - error: the check could not be made on our side (e.g. the stored key cannot be decrypted).
 */
export const HEALTH_CHECK_OUTCOMES = ['success', 'unauthorized', 'timeout', 'bad_response', 'unreachable', 'error'] as const;
export type HealthCheckOutcome = (typeof HEALTH_CHECK_OUTCOMES)[number];

export interface AiProviderTelemetryListener {
  checked(provider: AiProvider, outcome: HealthCheckOutcome, durationSeconds: number): void;
}

/**
 * Every provider health check this process made (on demand and periodic), told to whoever listens (the
 * metrics module). The health service never imports prom-client; with no listener this is a loop over an
 * empty array. A failing listener is logged and never fails the check.
 */
@Injectable()
export class AiProviderTelemetry {
  private readonly logger = new Logger(AiProviderTelemetry.name);
  private readonly listeners: AiProviderTelemetryListener[] = [];

  subscribe(listener: AiProviderTelemetryListener): void {
    this.listeners.push(listener);
  }

  checked(provider: AiProvider, outcome: HealthCheckOutcome, durationSeconds: number): void {
    for (const listener of this.listeners) {
      try {
        listener.checked(provider, outcome, durationSeconds);
      } catch (error) {
        this.logger.warn(`telemetry listener failed: ${(error as Error)?.message ?? String(error)}`);
      }
    }
  }
}
