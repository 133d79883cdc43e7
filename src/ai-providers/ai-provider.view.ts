import { aiProviderConfigs } from '../db/schema.js';

export type ProviderHealth = 'healthy' | 'unhealthy' | 'unchecked';

/** The columns a response may show. The encrypted key is deliberately not among them. */
export const VIEW_COLUMNS = {
  id: aiProviderConfigs.id,
  provider: aiProviderConfigs.provider,
  apiKeyHint: aiProviderConfigs.apiKeyHint,
  defaultModel: aiProviderConfigs.defaultModel,
  isValid: aiProviderConfigs.isValid,
  lastValidatedAt: aiProviderConfigs.lastValidatedAt,
  validationError: aiProviderConfigs.validationError,
  consecutiveFailures: aiProviderConfigs.consecutiveFailures,
  lastCheckLatencyMs: aiProviderConfigs.lastCheckLatencyMs,
  createdAt: aiProviderConfigs.createdAt,
  updatedAt: aiProviderConfigs.updatedAt,
};

type ViewRow = Pick<typeof aiProviderConfigs.$inferSelect, keyof typeof VIEW_COLUMNS>;

export type AiProviderConfigView = ViewRow & { health: ProviderHealth };

export function toView(row: ViewRow): AiProviderConfigView {
  const health: ProviderHealth = row.lastValidatedAt === null ? 'unchecked' : row.isValid ? 'healthy' : 'unhealthy';
  return { ...row, health };
}

/** What a client sees of a key: the last four characters (keys are at least 20 long). */
export const API_KEY_HINT_CHARS = 4;
export function apiKeyHint(apiKey: string): string {
  return `…${apiKey.slice(-API_KEY_HINT_CHARS)}`;
}

/** Associated data for the key's encryption: a ciphertext only decrypts on the row it was made for. */
export function apiKeyContext(workspaceId: string, provider: string): string {
  return `ai-provider-config:${workspaceId}:${provider}`;
}
