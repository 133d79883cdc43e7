import { ForbiddenException, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { Role } from '../db/schema.js';
import { IS_PUBLIC, MIN_ROLE } from './auth.decorators.js';
import { hasRole, type Principal } from './principal.js';
import { TokensService } from './tokens.service.js';

const BEARER = /^Bearer ([A-Za-z0-9_\-.~+/]+=*)$/;

export type AuthenticatedRequest = Request & { principal: Principal };

/** Global guard: every route needs a valid bearer token unless marked @Public(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokensService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization;
    if (!header) throw new UnauthorizedException('Missing Authorization header (expected "Bearer <token>")');
    const match = BEARER.exec(header);
    if (!match) throw new UnauthorizedException('Malformed Authorization header (expected "Bearer <token>")');
    const principal = await this.tokens.resolve(match[1]!);
    if (!principal) throw new UnauthorizedException('Unknown or revoked token');
    request.principal = principal;

    const required = this.reflector.getAllAndOverride<Role | undefined>(MIN_ROLE, targets);
    if (required && !hasRole(principal.role, required)) {
      throw new ForbiddenException(`This action needs the ${required} role or higher; the token has ${principal.role}`);
    }
    return true;
  }
}
