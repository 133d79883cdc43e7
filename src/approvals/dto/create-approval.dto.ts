import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { APPROVAL_PRIORITIES, type ApprovalPriority } from '../../db/schema.js';
import {
  MAX_CONFIDENCE_FACTORS,
  MAX_NAME_LENGTH,
  MAX_PREVIEW_DATA_BYTES,
  MAX_TEXT_LENGTH,
  MAX_TITLE_LENGTH,
  WEIGHT_SUM_TOLERANCE,
} from '../approval.constants.js';
import { MaxJsonBytes, WeightsSumToOne } from './validators.js';

const MAX_SCORE = 100;

export class ConfidenceFactorDto {
  @IsString()
  @Length(1, MAX_NAME_LENGTH)
  factor!: string;

  @IsInt()
  @Min(0)
  @Max(MAX_SCORE)
  score!: number;

  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  weight!: number;

  @IsString()
  @MaxLength(MAX_TEXT_LENGTH)
  explanation!: string;

  @IsOptional()
  @IsBoolean()
  concerning?: boolean;
}

/** What an agent proposes. Used for POST /approvals and for approval.item.requested payloads. */
export class CreateApprovalDto {
  @IsString()
  @Length(1, MAX_NAME_LENGTH)
  type!: string;

  @IsString()
  @Length(1, MAX_TITLE_LENGTH)
  title!: string;

  @IsOptional()
  @IsString()
  @MaxLength(MAX_TEXT_LENGTH)
  description?: string;

  @IsInt()
  @Min(0)
  @Max(MAX_SCORE)
  confidenceScore!: number;

  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_CONFIDENCE_FACTORS)
  @ValidateNested({ each: true })
  @Type(() => ConfidenceFactorDto)
  @WeightsSumToOne(WEIGHT_SUM_TOLERANCE)
  confidenceFactors?: ConfidenceFactorDto[];

  @IsOptional()
  @IsString()
  @MaxLength(MAX_TEXT_LENGTH)
  aiRecommendation?: string;

  @IsOptional()
  @IsIn(APPROVAL_PRIORITIES)
  priority?: ApprovalPriority;

  @IsOptional()
  @IsString()
  @Length(1, MAX_NAME_LENGTH)
  sourceModule?: string;

  @IsOptional()
  @IsString()
  @Length(1, MAX_NAME_LENGTH)
  sourceId?: string;

  /** Who should review it (free-form id; there is no user table). */
  @IsOptional()
  @IsString()
  @Length(1, MAX_NAME_LENGTH)
  assignedToId?: string;

  @IsOptional()
  @IsObject()
  @MaxJsonBytes(MAX_PREVIEW_DATA_BYTES)
  previewData?: Record<string, unknown>;
}
