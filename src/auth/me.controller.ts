import { Controller, Get } from '@nestjs/common';
import { CurrentPrincipal } from './auth.decorators.js';
import type { Principal } from './principal.js';

@Controller('me')
export class MeController {
  @Get()
  me(@CurrentPrincipal() principal: Principal) {
    return {
      workspace: { id: principal.workspaceId, slug: principal.workspaceSlug },
      role: principal.role,
      tokenId: principal.tokenId,
    };
  }
}
