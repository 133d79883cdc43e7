import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { CurrentPrincipal, Roles } from '../auth/auth.decorators.js';
import type { Principal } from '../auth/principal.js';
import { AiProviderHealthService } from './ai-provider-health.service.js';
import { AiProvidersService } from './ai-providers.service.js';
import { CreateAiProviderDto, UpdateAiProviderDto } from './dto/ai-provider.dto.js';

/** Members may read; changing a workspace's keys or spending a provider call needs admin or owner. */
@Controller('ai-providers')
export class AiProvidersController {
  constructor(
    private readonly providers: AiProvidersService,
    private readonly health: AiProviderHealthService,
  ) {}

  @Get()
  async list(@CurrentPrincipal() principal: Principal) {
    return { items: await this.providers.list(principal.workspaceId) };
  }

  @Get(':id')
  get(@CurrentPrincipal() principal: Principal, @Param('id', ParseUUIDPipe) id: string) {
    return this.providers.get(principal.workspaceId, id);
  }

  @Post()
  @Roles('admin')
  create(@CurrentPrincipal() principal: Principal, @Body() dto: CreateAiProviderDto) {
    return this.providers.create(principal.workspaceId, dto);
  }

  @Patch(':id')
  @Roles('admin')
  update(@CurrentPrincipal() principal: Principal, @Param('id', ParseUUIDPipe) id: string, @Body() dto: UpdateAiProviderDto) {
    return this.providers.update(principal.workspaceId, id, dto);
  }

  @Delete(':id')
  @Roles('admin')
  @HttpCode(HttpStatus.NO_CONTENT)
  remove(@CurrentPrincipal() principal: Principal, @Param('id', ParseUUIDPipe) id: string) {
    return this.providers.remove(principal.workspaceId, id);
  }

  @Post(':id/test')
  @Roles('admin')
  @HttpCode(HttpStatus.OK)
  test(@CurrentPrincipal() principal: Principal, @Param('id', ParseUUIDPipe) id: string) {
    return this.health.checkNow(principal.workspaceId, id);
  }
}
