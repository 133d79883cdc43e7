import { Module } from '@nestjs/common';
import { AiProviderHealthService } from './ai-provider-health.service.js';
import { AiProviderStatsService } from './ai-provider-stats.service.js';
import { AiProviderTelemetry } from './ai-provider.telemetry.js';
import { AiProvidersController } from './ai-providers.controller.js';
import { AiProvidersService } from './ai-providers.service.js';
import { ApiKeyCipher } from './api-key-cipher.js';

/**
 * Bring-your-own-key provider configs: CRUD, encryption at rest and health checks. The metrics module uses
 * AiProviderStatsService.getProviderMetrics() and subscribes to AiProviderTelemetry.
 */
@Module({
  controllers: [AiProvidersController],
  providers: [AiProvidersService, AiProviderHealthService, AiProviderStatsService, AiProviderTelemetry, ApiKeyCipher],
  exports: [AiProvidersService, AiProviderHealthService, AiProviderStatsService, AiProviderTelemetry],
})
export class AiProvidersModule {}
