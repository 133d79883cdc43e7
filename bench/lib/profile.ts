import { readFileSync } from 'node:fs';

/** Reads a V8 .cpuprofile (node --cpu-prof) and attributes sampled time to functions. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionCost {
  name: string;
  selfMs: number;
  /**
   * Time with this function anywhere on the stack (counted once per sample even when recursive); for focus
   * frames, only the samples they own (see analyseProfile).
   */
  totalMs: number;
}

export interface ProfileSummary {
  /** Non-idle sampled time in the analysed window. */
  busyMs: number;
  functions: FunctionCost[];
  /** Leaf frames of the samples whose stack contains a frame matching `focus`, by self time. */
  focusLeaves: FunctionCost[];
  focusMs: number;
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/bench\/\.tmp\//, '');
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
}

/**
 * Time per function over the window where `focus` frames run (first to last sample owned by one), so start-up
 * and shutdown do not dilute the shares. A sample is owned by focus frames when, walking from its leaf towards
 * the root, a focus frame comes before any `boundary` frame: a middleware's time excludes the rest of the
 * chain it hands over to with next().
 */
export function analyseProfile(path: string, focus: (frame: string) => boolean, boundary: (frame: string) => boolean = () => false): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const names = new Map(profile.nodes.map((n) => [n.id, frameName(n)]));
  const stacks = profile.samples.map((leaf) => {
    const stack: string[] = [];
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) stack.push(names.get(id)!);
    return stack;
  });
  // Sample i lasts until the next one.
  const durations = profile.timeDeltas.slice(1).map((d) => d / 1000);
  durations.push(0);
  /** The focus frames owning each sample (empty when the sample is not the focus's own work). */
  const owners = stacks.map((stack) => {
    const found = new Set<string>();
    for (const frame of stack) {
      if (focus(frame)) found.add(frame);
      else if (boundary(frame)) break;
    }
    return found;
  });
  const focused = owners.map((found) => found.size > 0);
  const first = focused.indexOf(true);
  const last = focused.lastIndexOf(true);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const leaves = new Map<string, number>();
  const owned = new Map<string, number>();
  let busyMs = 0;
  let focusMs = 0;
  for (let i = Math.max(0, first); i <= last; i++) {
    const stack = stacks[i]!;
    const ms = durations[i]!;
    if (byId.get(profile.samples[i]!)!.callFrame.functionName === '(idle)') continue;
    busyMs += ms;
    self.set(stack[0]!, (self.get(stack[0]!) ?? 0) + ms);
    for (const name of new Set(stack)) total.set(name, (total.get(name) ?? 0) + ms);
    if (focused[i]) {
      focusMs += ms;
      leaves.set(stack[0]!, (leaves.get(stack[0]!) ?? 0) + ms);
    }
  }
  for (let i = Math.max(0, first); i <= last; i++) {
    for (const owner of owners[i]!) owned.set(owner, (owned.get(owner) ?? 0) + durations[i]!);
  }
  const functions = [...total.entries()].map(([name, totalMs]) => ({ name, totalMs: owned.get(name) ?? totalMs, selfMs: self.get(name) ?? 0 }));
  const focusLeaves = [...leaves.entries()].map(([name, ms]) => ({ name, totalMs: ms, selfMs: ms }));
  return { busyMs, functions, focusLeaves, focusMs };
}
