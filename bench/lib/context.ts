import { randomBytes } from 'node:crypto';
import type { Report } from './report.js';
import type { PrivateRedis } from './services.js';

export const PHASES = ['http', 'profile', 'scrape', 'commands', 'events', 'junk'] as const;
export type PhaseName = (typeof PHASES)[number];

export interface BenchOptions {
  phases: PhaseName[];
  /** Interleaved rounds of the HTTP comparison. */
  rounds: number;
  /** Measured seconds per arm and round. */
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  /** Shorter everything, for developing the harness. */
  quick: boolean;
}

export interface BenchContext {
  options: BenchOptions;
  /** A private redis-server for the whole run: nothing else writes to it, so counts and timings are ours alone. */
  redis: PrivateRedis;
  report: Report;
  commands: string[];
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/**
 * Environment of the API under test. Production mode, warn-level logs (request logging still runs its
 * per-request work, but the probe route is not logged at any level), background jobs off so only the
 * measured work runs. The encryption key is a throwaway generated per run (nothing is encrypted in the bench).
 */
export function apiEnv(overrides: Record<string, string>): Record<string, string> {
  return {
    NODE_ENV: 'production',
    ENCRYPTION_MASTER_KEY: randomBytes(24).toString('hex'),
    LOG_LEVEL: 'warn',
    EVENT_BUS_CONSUMER_ENABLED: 'false',
    APPROVAL_ESCALATION_ENABLED: 'false',
    AI_PROVIDER_HEALTH_ENABLED: 'false',
    ...overrides,
  };
}

/** Environment of peer processes: production mode like the API. */
export const PEER_ENV: Record<string, string> = { NODE_ENV: 'production' };
