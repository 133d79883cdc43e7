/**
 * Preloaded (node --expose-gc --import) into servers of the junk-traffic benchmark: on SIGUSR2, runs full
 * garbage collections and writes the process's memory figures to BENCH_GC_FILE. RSS alone mostly shows how far
 * V8 has grown its heap since the last major GC; after a forced GC, what remains is what is really retained.
 */
import { writeFileSync } from 'node:fs';

const collect = (globalThis as { gc?: () => void }).gc;
const FULL_GC_PASSES = 2;

process.on('SIGUSR2', () => {
  for (let i = 0; i < FULL_GC_PASSES; i++) collect?.();
  const file = process.env.BENCH_GC_FILE;
  if (file) writeFileSync(file, JSON.stringify({ ...process.memoryUsage(), collected: collect !== undefined }));
});
