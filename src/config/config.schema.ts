import { z } from 'zod';

/**
 * Every setting the API reads from the environment. Parsed once at start-up (see loadConfig);
 * a missing or malformed value stops the process with a message naming the variable.
 */
const bool = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1');
const port = z.coerce.number().int().min(1).max(65535);
const positiveInt = z.coerce.number().int().positive();
const msList = z
  .string()
  .regex(/^\d+(,\d+)*$/, 'must be a comma-separated list of milliseconds, e.g. 1000,5000,30000')
  .transform((v) => v.split(',').map(Number));
const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' });

export const NODE_ENVS = ['development', 'test', 'production'] as const;

export const envSchema = z
  .object({
    NODE_ENV: z.enum(NODE_ENVS).default('development'),
    PORT: port.default(3001),
    HOST: z.string().min(1).default('0.0.0.0'),
    DATABASE_URL: z
      .url({ protocol: /^postgres(ql)?$/, message: 'must be a postgres:// URL' })
      .default('postgres://postgres@127.0.0.1:5432/hyvve'),
    DATABASE_POOL_MAX: positiveInt.default(10),
    DATABASE_STATEMENT_TIMEOUT_MS: positiveInt.default(5000),
    DATABASE_CONNECT_TIMEOUT_MS: positiveInt.default(2000),
    REDIS_URL: z
      .url({ protocol: /^rediss?$/, message: 'must be a redis:// URL' })
      .default('redis://127.0.0.1:6379'),
    REDIS_COMMAND_TIMEOUT_MS: positiveInt.default(2000),
    ENCRYPTION_MASTER_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    BODY_LIMIT: z
      .string()
      .regex(/^\d+(b|kb|mb)$/i, 'must look like 100kb or 1mb')
      .default('256kb'),
    SHUTDOWN_TIMEOUT_MS: positiveInt.default(15000),

    EVENT_BUS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]+$/, 'may contain only letters, digits and _ . : -')
      .default('hyvve'),
    EVENT_BUS_ENABLED: bool.default(true),
    EVENT_BUS_CONSUMER_ENABLED: bool.default(true),
    EVENT_BUS_BATCH_SIZE: positiveInt.default(100),
    EVENT_BUS_BLOCK_MS: positiveInt.default(2000),
    EVENT_BUS_MAX_RETRIES: positiveInt.default(3),
    EVENT_BUS_RETRY_DELAYS_MS: msList.default([1000, 5000, 30000]),
    EVENT_BUS_CLAIM_IDLE_MS: positiveInt.default(60000),
    EVENT_BUS_MAIN_MAXLEN: positiveInt.default(2_592_000),
    EVENT_BUS_DLQ_MAXLEN: positiveInt.default(100_000),
    EVENT_BUS_REPLAY_BATCH_SIZE: positiveInt.default(200),

    APPROVAL_ESCALATION_INTERVAL_SECONDS: positiveInt.default(900),
    APPROVAL_ESCALATION_ENABLED: bool.default(true),

    AI_PROVIDER_HEALTH_INTERVAL_SECONDS: positiveInt.default(300),
    AI_PROVIDER_HEALTH_ENABLED: bool.default(true),
    AI_PROVIDER_HEALTH_TIMEOUT_MS: positiveInt.default(10000),
    AI_PROVIDER_HEALTH_CONCURRENCY: positiveInt.default(4),
    AI_PROVIDER_CLAUDE_BASE_URL: httpUrl.default('https://api.anthropic.com'),
    AI_PROVIDER_OPENAI_BASE_URL: httpUrl.default('https://api.openai.com'),
    AI_PROVIDER_GEMINI_BASE_URL: httpUrl.default('https://generativelanguage.googleapis.com'),
    AI_PROVIDER_DEEPSEEK_BASE_URL: httpUrl.default('https://api.deepseek.com'),
    AI_PROVIDER_OPENROUTER_BASE_URL: httpUrl.default('https://openrouter.ai/api'),

    METRICS_HTTP_ENABLED: bool.default(true),
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    METRICS_PORT: port.optional(),
    METRICS_COLLECT_INTERVAL_SECONDS: z.coerce.number().positive().default(5),
    METRICS_COLLECT_TIMEOUT_MS: positiveInt.default(1000),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && !env.ENCRYPTION_MASTER_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['ENCRYPTION_MASTER_KEY'],
        message: 'is required when NODE_ENV=production (at least 32 characters; keep it secret)',
      });
    }
    if (env.METRICS_PORT !== undefined && env.METRICS_PORT === env.PORT) {
      ctx.addIssue({ code: 'custom', path: ['METRICS_PORT'], message: 'must differ from PORT' });
    }
  });

export type Env = z.infer<typeof envSchema>;
