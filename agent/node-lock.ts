import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive as alive } from './process-alive.js';

/** nodeLockPath is where the node's agent leaves its pid and run id (WATTPRINT_AGENT_LOCK overrides). */
export function nodeLockPath(env: NodeJS.ProcessEnv): string {
  return env.WATTPRINT_AGENT_LOCK ?? join(tmpdir(), 'wattprint-agent.json');
}

/**
 * claimNode records this process as the node's agent and warns when another live agent already is: two agents
 * on one node each count all of its energy (one agent per node). It warns rather than refuses, since a second
 * agent with its own run id can be what the user wants; release() removes the claim if it is still ours.
 */
export function claimNode(path: string, runId: string, warn: (line: string) => void): { release(): void } {
  try {
    const other = JSON.parse(readFileSync(path, 'utf8')) as { pid: number; runId: string };
    if (other.pid !== process.pid && alive(other.pid)) {
      warn(`wattprint: another agent (pid ${other.pid}, run ${other.runId}) is tracking this node too: both count its energy; run one agent per node`);
    }
  } catch {
    // no claim, or an unreadable one: ours replaces it
  }
  try {
    writeFileSync(path, JSON.stringify({ pid: process.pid, runId }));
  } catch {
    return { release() {} };
  }
  return {
    release() {
      try {
        if ((JSON.parse(readFileSync(path, 'utf8')) as { pid: number }).pid === process.pid) rmSync(path);
      } catch {
        // gone already
      }
    },
  };
}
