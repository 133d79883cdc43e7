import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
} from 'class-validator';
import { QueryInteger } from '../common/query-integer.js';
import { EVENT_TYPE_PATTERN } from './event-envelope.js';
import { isStreamId } from './event-stream.js';

const TYPE_MESSAGE = '$property must look like {module}.{entity}.{action} (lowercase letters, digits, _), e.g. approval.item.approved';
const MAX_ID_LENGTH = 128;
/** Printable ASCII without spaces: ids end up in logs and URLs. */
const ID_PATTERN = /^[\x21-\x7e]+$/;
export const DLQ_PAGE_DEFAULT = 20;
export const DLQ_PAGE_MAX = 100;
export const REPLAY_MAX_EVENT_TYPES = 50;

export class PublishEventDto {
  @IsString()
  @MaxLength(MAX_ID_LENGTH)
  @Matches(EVENT_TYPE_PATTERN, { message: TYPE_MESSAGE })
  type!: string;

  @IsObject({ message: 'data must be a JSON object' })
  data!: Record<string, unknown>;

  @IsOptional()
  @IsString()
  @MaxLength(MAX_ID_LENGTH)
  @Matches(ID_PATTERN, { message: 'correlationId must be printable ASCII without spaces' })
  correlationId?: string;
}

export class DlqListQuery {
  @IsOptional()
  @QueryInteger()
  @IsInt()
  @Min(1)
  @Max(DLQ_PAGE_MAX)
  limit?: number;

  @IsOptional()
  // A 20-digit part beyond 2^64 - 1 made XREVRANGE fail with a 500.
  @ValidateBy({
    name: 'isStreamId',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && isStreamId(value),
      defaultMessage: () => 'cursor must be a nextCursor value from a previous page',
    },
  })
  cursor?: string;
}

export class EventIdParams {
  @MaxLength(MAX_ID_LENGTH)
  @Matches(ID_PATTERN, { message: 'eventId must be printable ASCII without spaces' })
  eventId!: string;
}

export class ReplayEventsDto {
  @IsISO8601({ strict: true }, { message: 'startTime must be an ISO 8601 date' })
  startTime!: string;

  @IsISO8601({ strict: true }, { message: 'endTime must be an ISO 8601 date' })
  endTime!: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(REPLAY_MAX_EVENT_TYPES)
  @IsString({ each: true })
  @Matches(EVENT_TYPE_PATTERN, { each: true, message: `each value in ${TYPE_MESSAGE}` })
  eventTypes?: string[];
}
