import { Injectable } from '@nestjs/common';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { Counter, Gauge } from 'prom-client';
import { MetricsService } from './metrics.service.js';

/**
 * Open TCP connections (idle keep-alive sockets included), counted from the server's own socket events:
 * `connection` adds one, the socket's `close` removes it, so the gauge cannot drift the way counting requests
 * would.
 */
@Injectable()
export class ConnectionsCollector {
  private active = 0;
  private readonly accepted: Counter;
  private readonly onSocketClose = () => {
    this.active--;
  };

  constructor(metrics: MetricsService) {
    const collector = this;
    new Gauge({
      name: 'http_active_connections',
      help: 'Open TCP connections to the API port, including idle keep-alive connections.',
      registers: [metrics.registry],
      collect() {
        this.set(collector.active);
      },
    });
    this.accepted = new Counter({
      name: 'http_connections_total',
      help: 'TCP connections accepted on the API port.',
      registers: [metrics.registry],
    });
  }

  attach(server: Server): void {
    server.on('connection', (socket: Socket) => {
      this.active++;
      this.accepted.inc();
      socket.once('close', this.onSocketClose);
    });
  }
}
