import 'reflect-metadata';
import { Controller, Get, type INestApplication, type LogLevel, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';

/** The same trivial route the API's arms are loaded on. */
@Controller('health')
export class LiveController {
  @Get('live')
  live() {
    return { status: 'ok' };
  }
}

const PEER_LOG_LEVELS: LogLevel[] = ['error', 'warn'];

/** Starts a peer app the way a typical NestJS service does: NestFactory on Express, listening on PORT. */
export async function startPeer(module: Type, configure?: (app: NestExpressApplication) => void): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(module, { logger: PEER_LOG_LEVELS });
  app.set('x-powered-by', false);
  configure?.(app);
  // Not SIGUSR2 (in Nest's default list): the benchmarks use it to ask preloads for figures.
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  await app.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
  return app;
}
