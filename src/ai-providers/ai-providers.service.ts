import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { DB, type Database } from '../db/db.module.js';
import { aiProviderConfigs } from '../db/schema.js';
import { ApiKeyCipher } from './api-key-cipher.js';
import { apiKeyContext, apiKeyHint, toView, VIEW_COLUMNS, type AiProviderConfigView } from './ai-provider.view.js';
import type { CreateAiProviderDto, UpdateAiProviderDto } from './dto/ai-provider.dto.js';

/** Every query here is scoped to the caller's workspace: another workspace's config is simply not found. */
@Injectable()
export class AiProvidersService {
  constructor(
    @Inject(DB) private readonly db: Database,
    private readonly cipher: ApiKeyCipher,
  ) {}

  list(workspaceId: string): Promise<AiProviderConfigView[]> {
    return this.db
      .select(VIEW_COLUMNS)
      .from(aiProviderConfigs)
      .where(eq(aiProviderConfigs.workspaceId, workspaceId))
      .orderBy(asc(aiProviderConfigs.provider))
      .then((rows) => rows.map(toView));
  }

  async get(workspaceId: string, id: string): Promise<AiProviderConfigView> {
    const [row] = await this.db.select(VIEW_COLUMNS).from(aiProviderConfigs).where(this.owned(workspaceId, id));
    if (!row) throw notFound();
    return toView(row);
  }

  /** ON CONFLICT on the (workspace, provider) unique index: two concurrent creates give one 201 and one 409. */
  async create(workspaceId: string, dto: CreateAiProviderDto): Promise<AiProviderConfigView> {
    const [row] = await this.db
      .insert(aiProviderConfigs)
      .values({
        workspaceId,
        provider: dto.provider,
        apiKeyEncrypted: await this.cipher.encrypt(dto.apiKey, apiKeyContext(workspaceId, dto.provider)),
        apiKeyHint: apiKeyHint(dto.apiKey),
        defaultModel: dto.defaultModel ?? null,
      })
      .onConflictDoNothing({ target: [aiProviderConfigs.workspaceId, aiProviderConfigs.provider] })
      .returning(VIEW_COLUMNS);
    if (!row) {
      throw new ConflictException(
        `This workspace already has a ${dto.provider} configuration; change its key with PATCH /ai-providers/:id`,
      );
    }
    return toView(row);
  }

  /** A new key starts unchecked: the health of the old key says nothing about it. */
  async update(workspaceId: string, id: string, dto: UpdateAiProviderDto): Promise<AiProviderConfigView> {
    if (dto.apiKey === undefined && dto.defaultModel === undefined) {
      throw new BadRequestException('Nothing to update: send apiKey and/or defaultModel');
    }
    const changes: PgUpdateSetSource<typeof aiProviderConfigs> = { updatedAt: sql`now()` };
    if (dto.defaultModel !== undefined) changes.defaultModel = dto.defaultModel;
    if (dto.apiKey !== undefined) {
      const [current] = await this.db
        .select({ provider: aiProviderConfigs.provider })
        .from(aiProviderConfigs)
        .where(this.owned(workspaceId, id));
      if (!current) throw notFound();
      Object.assign(changes, {
        apiKeyEncrypted: await this.cipher.encrypt(dto.apiKey, apiKeyContext(workspaceId, current.provider)),
        apiKeyHint: apiKeyHint(dto.apiKey),
        isValid: false,
        lastValidatedAt: null,
        validationError: null,
        consecutiveFailures: 0,
        lastCheckLatencyMs: null,
        // A check still running holds the old key; its result will not be recorded (see the health service).
        checkLeaseUntil: null,
      });
    }
    const [row] = await this.db
      .update(aiProviderConfigs)
      .set(changes)
      .where(this.owned(workspaceId, id))
      .returning(VIEW_COLUMNS);
    if (!row) throw notFound();
    return toView(row);
  }

  async remove(workspaceId: string, id: string): Promise<void> {
    const [row] = await this.db
      .delete(aiProviderConfigs)
      .where(this.owned(workspaceId, id))
      .returning({ id: aiProviderConfigs.id });
    if (!row) throw notFound();
  }

  private owned(workspaceId: string, id: string) {
    return and(eq(aiProviderConfigs.id, id), eq(aiProviderConfigs.workspaceId, workspaceId));
  }
}

function notFound(): NotFoundException {
  return new NotFoundException('AI provider configuration not found');
}
