import { IsIn, IsOptional, IsString, Length, Matches, ValidateIf } from 'class-validator';
import { AI_PROVIDERS, type AiProvider } from '../../db/schema.js';

/**
 * Real keys are 35 to about 110 characters (DeepSeek `sk-` + 32, Gemini `AIza` + 35, OpenAI, Anthropic and
 * OpenRouter longer). At least 20 means the 4-character hint never gives away much of a key, and 500 leaves
 * room for longer future formats. Printable ASCII without spaces: keys go into HTTP headers as they are.
 */
export const API_KEY_MIN_LENGTH = 20;
export const API_KEY_MAX_LENGTH = 500;
const API_KEY_CHARACTERS = /^[\x21-\x7e]+$/;
const API_KEY_CHARACTERS_MESSAGE = 'apiKey must contain only printable ASCII characters, without spaces';
const MODEL_MAX_LENGTH = 200;
/** Model ids such as gpt-4o, models/gemini-1.5-flash, anthropic/claude-3-5-sonnet:beta. */
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:/@-]*$/;
const MODEL_ID_MESSAGE = 'defaultModel must be a model id (letters, digits and . _ : / @ -)';

export class CreateAiProviderDto {
  @IsIn(AI_PROVIDERS, { message: `provider must be one of: ${AI_PROVIDERS.join(', ')}` })
  provider!: AiProvider;

  @IsString()
  @Length(API_KEY_MIN_LENGTH, API_KEY_MAX_LENGTH)
  @Matches(API_KEY_CHARACTERS, { message: API_KEY_CHARACTERS_MESSAGE })
  apiKey!: string;

  @IsOptional()
  @IsString()
  @Length(1, MODEL_MAX_LENGTH)
  @Matches(MODEL_ID, { message: MODEL_ID_MESSAGE })
  defaultModel?: string;
}

/** The provider cannot change (create another config instead). `defaultModel: null` clears the model. */
export class UpdateAiProviderDto {
  // Absent means "keep the key"; null is not a key and is rejected.
  @ValidateIf((dto: UpdateAiProviderDto) => dto.apiKey !== undefined)
  @IsString()
  @Length(API_KEY_MIN_LENGTH, API_KEY_MAX_LENGTH)
  @Matches(API_KEY_CHARACTERS, { message: API_KEY_CHARACTERS_MESSAGE })
  apiKey?: string;

  @IsOptional()
  @IsString()
  @Length(1, MODEL_MAX_LENGTH)
  @Matches(MODEL_ID, { message: MODEL_ID_MESSAGE })
  defaultModel?: string | null;
}
