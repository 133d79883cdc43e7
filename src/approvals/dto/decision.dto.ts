import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  ValidateIf,
} from 'class-validator';
import { MAX_BULK_IDS, MAX_DECISION_TEXT_LENGTH } from '../approval.constants.js';

const NOT_BLANK = /\S/;

export const DECISION_ACTIONS = ['approve', 'reject', 'cancel'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

export class ApproveDto {
  @IsOptional()
  @IsString()
  @MaxLength(MAX_DECISION_TEXT_LENGTH)
  notes?: string;
}

export class RejectDto {
  @IsString()
  @Matches(NOT_BLANK, { message: 'reason must not be empty' })
  @MaxLength(MAX_DECISION_TEXT_LENGTH)
  reason!: string;
}

export class BulkDecisionDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BULK_IDS)
  @ArrayUnique()
  @IsUUID('all', { each: true })
  ids!: string[];

  @IsIn(DECISION_ACTIONS)
  action!: DecisionAction;

  @IsOptional()
  @IsString()
  @MaxLength(MAX_DECISION_TEXT_LENGTH)
  notes?: string;

  /** Required when rejecting, as for a single rejection. */
  @ValidateIf((o: BulkDecisionDto) => o.action === 'reject' || o.reason !== undefined)
  @IsString()
  @Matches(NOT_BLANK, { message: 'reason must not be empty' })
  @MaxLength(MAX_DECISION_TEXT_LENGTH)
  reason?: string;
}
