import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { MAX_APPROVAL_TIMEOUT_HOURS } from '../approval.constants.js';

const MAX_THRESHOLD = 100;

/** Fields left out keep their current value; the result must satisfy 0 ≤ quickReview ≤ autoApprove ≤ 100. */
export class UpdateApprovalSettingsDto {
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_THRESHOLD)
  autoApproveThreshold?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_THRESHOLD)
  quickReviewThreshold?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_APPROVAL_TIMEOUT_HOURS)
  approvalTimeoutHours?: number;
}
