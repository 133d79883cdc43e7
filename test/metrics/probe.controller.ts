import { Controller, ForbiddenException, Get, Module, Param, ParseIntPipe } from '@nestjs/common';
import { Public, Roles } from '../../src/auth/auth.decorators.js';

/** Routes that answer with the statuses the HTTP metrics must count; mounted only in tests. */
@Controller('probe')
export class ProbeController {
  @Public()
  @Get('ok/:id')
  ok(@Param('id') id: string) {
    return { id };
  }

  @Public()
  @Get('boom')
  boom(): never {
    throw new Error('deliberate failure');
  }

  @Public()
  @Get('number/:n')
  number(@Param('n', ParseIntPipe) n: number) {
    return { n };
  }

  @Roles('owner')
  @Get('owner-only')
  ownerOnly() {
    return {};
  }

  @Public()
  @Get('forbidden')
  forbidden(): never {
    throw new ForbiddenException('no');
  }

  @Public()
  @Get('slow/:ms')
  async slow(@Param('ms', ParseIntPipe) ms: number) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return {};
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}
