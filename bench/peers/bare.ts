import { Module } from '@nestjs/common';
import { LiveController, startPeer } from './common.js';

/** Peer (c): a minimal NestJS app without any metrics, the baseline every ratio is taken against. */
@Module({ controllers: [LiveController] })
class BareModule {}

await startPeer(BareModule);
