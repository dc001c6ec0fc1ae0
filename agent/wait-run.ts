import { hostname } from 'node:os';
import type { Store } from '../src/store/store.js';
import { processAlive as alive } from './process-alive.js';

/** WAIT_POLL_MS is how often `report --wait` looks at the run again. */
const WAIT_POLL_MS = 200;

/**
 * waitForRunEnd waits, at most `seconds`, for a stored run to be closed — a node agent closes a job's run a tick
 * or two after the job's cgroup leaves, so a SLURM epilog asks for the report a moment too early. It returns at
 * once for a run that is not stored (an agent that never saw the job will not), and as soon as the process
 * tracking it on this host is gone (nobody will close it); true when the run is ended.
 */
export async function waitForRunEnd(store: Store, runId: string, seconds: number): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const run = store.findRun(runId);
    if (!run) return false;
    if (run.status === 'ended') return true;
    if (run.ownerHost === hostname() && run.ownerPid !== undefined && !alive(run.ownerPid)) return false;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
  }
}
