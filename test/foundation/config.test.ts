import { loadConfig, ConfigError } from '../../src/config/app-config.js';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('applies the documented defaults', () => {
    const { env } = loadConfig({});
    expect(env.PORT).toBe(3001);
    expect(env.DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/hyvve');
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(env.EVENT_BUS_PREFIX).toBe('hyvve');
    expect(env.EVENT_BUS_RETRY_DELAYS_MS).toEqual([1000, 5000, 30000]);
    expect(env.METRICS_COLLECT_INTERVAL_SECONDS).toBe(5);
    expect(env.METRICS_COLLECT_TIMEOUT_MS).toBe(1000);
  });

  it('names the variable when a value is malformed', () => {
    expect(problems({ PORT: 'abc' }).join()).toMatch(/^PORT /);
    expect(problems({ PORT: '70000' }).join()).toMatch(/^PORT /);
    expect(problems({ DATABASE_URL: 'mysql://x' }).join()).toMatch(/DATABASE_URL must be a postgres:\/\/ URL/);
    expect(problems({ REDIS_URL: 'not a url' }).join()).toMatch(/REDIS_URL/);
    expect(problems({ LOG_LEVEL: 'loud' }).join()).toMatch(/LOG_LEVEL/);
    expect(problems({ EVENT_BUS_RETRY_DELAYS_MS: '1s,2s' }).join()).toMatch(/EVENT_BUS_RETRY_DELAYS_MS/);
    expect(problems({ METRICS_HTTP_ENABLED: 'yes' }).join()).toMatch(/METRICS_HTTP_ENABLED must be true or false/);
  });

  it('reports every problem at once', () => {
    expect(problems({ PORT: 'x', LOG_LEVEL: 'y' })).toHaveLength(2);
  });

  it('requires ENCRYPTION_MASTER_KEY in production only', () => {
    expect(problems({ NODE_ENV: 'production' }).join()).toMatch(/ENCRYPTION_MASTER_KEY is required when NODE_ENV=production/);
    expect(problems({ NODE_ENV: 'production', ENCRYPTION_MASTER_KEY: 'short' }).join()).toMatch(/ENCRYPTION_MASTER_KEY must be at least 32/);
    expect(loadConfig({ NODE_ENV: 'production', ENCRYPTION_MASTER_KEY: 'k'.repeat(32) }).isProduction).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).encryptionMasterKey.length).toBeGreaterThanOrEqual(32);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ PORT: '' }).env.PORT).toBe(3001);
  });
});
