import { IsIn, IsInt, IsOptional, IsString, Length, Max, MaxLength, Min } from 'class-validator';
import { QueryInteger } from '../../common/query-integer.js';
import { APPROVAL_PRIORITIES, APPROVAL_STATUSES, type ApprovalPriority, type ApprovalStatus } from '../../db/schema.js';
import { DEFAULT_PAGE_SIZE, MAX_NAME_LENGTH, MAX_PAGE_SIZE } from '../approval.constants.js';

export const SORT_FIELDS = ['createdAt', 'dueAt', 'confidenceScore'] as const;
export const SORT_ORDERS = ['asc', 'desc'] as const;
export type SortField = (typeof SORT_FIELDS)[number];
export type SortOrder = (typeof SORT_ORDERS)[number];

/** Opaque cursors are short base64url strings; anything much longer is not one of ours. */
const MAX_CURSOR_LENGTH = 512;

export class ListApprovalsQuery {
  @IsOptional()
  @IsIn(APPROVAL_STATUSES)
  status?: ApprovalStatus;

  @IsOptional()
  @IsString()
  @Length(1, MAX_NAME_LENGTH)
  type?: string;

  @IsOptional()
  @IsIn(APPROVAL_PRIORITIES)
  priority?: ApprovalPriority;

  @IsOptional()
  @IsString()
  @Length(1, MAX_NAME_LENGTH)
  assignedToId?: string;

  @IsOptional()
  @IsIn(SORT_FIELDS)
  sortBy: SortField = 'createdAt';

  @IsOptional()
  @IsIn(SORT_ORDERS)
  order: SortOrder = 'desc';

  @IsOptional()
  @QueryInteger()
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit: number = DEFAULT_PAGE_SIZE;

  @IsOptional()
  @IsString()
  @MaxLength(MAX_CURSOR_LENGTH)
  cursor?: string;
}
