import { Module } from '@nestjs/common';
import promBundle from 'express-prom-bundle';
import { LiveController, startPeer } from './common.js';

/**
 * Peer (a): express-prom-bundle as its README sets it up for labelled HTTP metrics (method, path, status code,
 * default Node metrics), mounted before Nest's routes so it sees every request.
 */
@Module({ controllers: [LiveController] })
class PromBundleModule {}

await startPeer(PromBundleModule, (app) => {
  app.use(
    promBundle({
      includeMethod: true,
      includePath: true,
      includeStatusCode: true,
      promClient: { collectDefaultMetrics: {} },
    }),
  );
});
