import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { isUUID, validate, type ValidationError } from 'class-validator';
import { eq } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import { DB, type Database } from '../db/db.module.js';
import { workspaces } from '../db/schema.js';
import type { EventEnvelope } from '../events/event-envelope.js';
import { EventSubscriptions } from '../events/event-subscriptions.js';
import { APPROVAL_REQUESTED_EVENT, APPROVAL_REQUESTED_SUBSCRIPTION } from './approval.constants.js';
import type { ApprovalItem } from './approval.types.js';
import { ApprovalsService } from './approvals.service.js';
import { CreateApprovalDto } from './dto/create-approval.dto.js';

/** Namespace of the name-based (v5) ids of items created from request events. */
const REQUEST_ID_NAMESPACE = Buffer.from('6f1f5b8e3c2a4d7e9b0a1c2d3e4f5a6b', 'hex');
const UUID_VERSION_5 = 0x50;
const UUID_VARIANT_RFC4122 = 0x80;

/** RFC 4122 version-5 UUID of the event id: the same request event always names the same item. */
export function approvalIdForRequest(eventId: string): string {
  const bytes = createHash('sha1').update(REQUEST_ID_NAMESPACE).update(eventId).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | UUID_VERSION_5;
  bytes[8] = (bytes[8]! & 0x3f) | UUID_VARIANT_RFC4122;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function describe(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((error) => {
    const path = parent ? `${parent}.${error.property}` : error.property;
    return [...Object.values(error.constraints ?? {}).map((m) => `${path}: ${m}`), ...describe(error.children ?? [], path)];
  });
}

/** A request that can never succeed; retrying it only delays its arrival in the DLQ, where operators see it. */
export class InvalidApprovalRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidApprovalRequestError';
  }
}

/**
 * Creates approval items from `approval.item.requested` events (data: the POST /approvals body; tenantId: the
 * workspace id), through the same routing as HTTP. Re-delivery is harmless: the item id derives from the event id.
 */
@Injectable()
export class ApprovalRequestSubscriber implements OnModuleInit {
  private readonly logger = new Logger(ApprovalRequestSubscriber.name);

  constructor(
    private readonly subscriptions: EventSubscriptions,
    private readonly approvals: ApprovalsService,
    @Inject(DB) private readonly db: Database,
  ) {}

  onModuleInit(): void {
    this.subscriptions.subscribe(APPROVAL_REQUESTED_SUBSCRIPTION, APPROVAL_REQUESTED_EVENT, async (event) => {
      await this.handle(event);
    });
  }

  async handle(event: EventEnvelope): Promise<ApprovalItem | undefined> {
    const workspaceId = event.tenantId;
    if (!isUUID(workspaceId)) throw new InvalidApprovalRequestError(`tenantId ${workspaceId} is not a workspace id`);
    const [workspace] = await this.db.select({ id: workspaces.id }).from(workspaces).where(eq(workspaces.id, workspaceId));
    if (!workspace) throw new InvalidApprovalRequestError(`workspace ${workspaceId} does not exist`);

    const dto = plainToInstance(CreateApprovalDto, event.data);
    // Unknown fields are dropped rather than refused: publishers may add fields before this handler knows them.
    const errors = await validate(dto, { whitelist: true });
    if (errors.length) {
      throw new InvalidApprovalRequestError(`invalid ${APPROVAL_REQUESTED_EVENT} ${event.id}: ${describe(errors).join('; ')}`);
    }

    const id = approvalIdForRequest(event.id);
    const item = await this.approvals.create(workspaceId, event.userId ?? event.source, dto, {
      id,
      userId: event.userId,
      correlationId: event.correlationId,
    });
    if (!item) this.logger.log(`${APPROVAL_REQUESTED_EVENT} ${event.id} was already handled (approval ${id})`);
    return item;
  }
}
