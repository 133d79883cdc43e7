import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Role } from '../db/schema.js';
import type { Principal } from './principal.js';

export const IS_PUBLIC = 'auth:public';
export const MIN_ROLE = 'auth:min-role';

/** The route needs no token. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** The caller's role must be at least this one (owner > admin > member). Without it, any valid token passes. */
export const Roles = (minimum: Role) => SetMetadata(MIN_ROLE, minimum);

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => ctx.switchToHttp().getRequest().principal,
);
