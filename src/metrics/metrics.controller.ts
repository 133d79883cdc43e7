import { Controller, Get, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Public } from '../auth/auth.decorators.js';
import { MetricsEndpoint } from './metrics-endpoint.js';

/** GET /metrics on the API port (not registered when METRICS_PORT moves it to its own port). */
@Public()
@Controller()
export class MetricsController {
  constructor(private readonly endpoint: MetricsEndpoint) {}

  @Get('metrics')
  scrape(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.endpoint.handle(req, res);
  }
}
