import { METHODS } from 'node:http';
import type { RawRequest } from './pipelined-client.js';

/** Methods Node's HTTP parser accepts (they reach the app); CONNECT opens a tunnel instead of a request. */
const ACCEPTED_METHODS = METHODS.filter((m) => m !== 'CONNECT');
const PREFIXES = ['', '/approvals', '/approvals/settings', '/ai-providers', '/admin/events', '/admin/events/dlq', '/events', '/me', '/health', '/metricsx', '/%2e%2e', '/api/v1'];

/** A small deterministic PRNG (mulberry32): the same URLs on every run. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export function randomRequests(seed: number): (i: number) => RawRequest {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const hex = (length: number) => Array.from({ length }, () => Math.floor(random() * 16).toString(16)).join('');
  const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  const segment = () => {
    const kind = random();
    if (kind < 0.4) return Math.floor(random() * 2 ** 48).toString(36);
    if (kind < 0.65) return uuid();
    if (kind < 0.8) return encodeURIComponent(String.fromCodePoint(0x4e00 + Math.floor(random() * 0x5000), 0x1f600 + Math.floor(random() * 0x50)));
    if (kind < 0.95) return '%00%ff%2F..';
    return 'x'.repeat(1 + Math.floor(random() * 2000));
  };
  return () => {
    const depth = Math.floor(random() * 4);
    let path = pick(PREFIXES);
    for (let d = 0; d < depth; d++) path += `/${segment()}`;
    if (random() < 0.3) path += `?${segment()}=${segment()}&limit=${Math.floor(random() * 1e6)}`;
    return { method: pick(ACCEPTED_METHODS), path: path.startsWith('/') ? path : `/${path}` };
  };
}
