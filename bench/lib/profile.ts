import { readFileSync } from 'node:fs';

/** Reads a V8 .cpuprofile (node --cpu-prof) and attributes sampled time to functions. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

export interface FunctionCost {
  name: string;
  selfMs: number;
  /** Time with this function anywhere on the stack (counted once per sample even when recursive). */
  totalMs: number;
}

export function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/bench\/\.tmp\//, '');
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
}

export function analyseProfile(path: string): { totalMs: number; idleMs: number; functions: FunctionCost[] } {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const msPerSample = (profile.endTime - profile.startTime) / 1000 / profile.samples.length;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let idle = 0;
  for (const sample of profile.samples) {
    const leaf = byId.get(sample)!;
    const leafName = frameName(leaf);
    if (leaf.callFrame.functionName === '(idle)') {
      idle += msPerSample;
      continue;
    }
    self.set(leafName, (self.get(leafName) ?? 0) + msPerSample);
    const seen = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
      const name = frameName(byId.get(id)!);
      if (seen.has(name)) continue;
      seen.add(name);
      total.set(name, (total.get(name) ?? 0) + msPerSample);
    }
  }
  const functions = [...total.entries()].map(([name, totalMs]) => ({ name, totalMs, selfMs: self.get(name) ?? 0 }));
  return { totalMs: (profile.endTime - profile.startTime) / 1000, idleMs: idle, functions };
}
