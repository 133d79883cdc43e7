import { envSchema, type Env } from './config.schema.js';

/**
 * The validated configuration, injected by class token. Development and test get a fixed,
 * publicly known master key so the API runs without setup; production must provide its own.
 */
export class AppConfig {
  constructor(readonly env: Env) {}

  get isProduction(): boolean {
    return this.env.NODE_ENV === 'production';
  }

  get encryptionMasterKey(): string {
    return this.env.ENCRYPTION_MASTER_KEY ?? DEVELOPMENT_MASTER_KEY;
  }
}

export const DEVELOPMENT_MASTER_KEY = 'hyvve-development-only-master-key-not-secret';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Empty strings count as unset, so `FOO=` in a .env file falls back to the default. */
export function loadConfig(source: NodeJS.ProcessEnv | Record<string, string | undefined>): AppConfig {
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(source)) {
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'} ${issue.message}`),
    );
  }
  return new AppConfig(parsed.data);
}
