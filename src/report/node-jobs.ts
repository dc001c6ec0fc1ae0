/**
 * The node agent's report on a shared node: per device, its whole energy, what its jobs were charged and what no
 * job was (unattributed, kept with the agent's run each tick), and each job's own figures (each job is a run of
 * its own in the same database: `wattprint report slurm-<id>`).
 */
import type { DeviceRow, RunRow } from '../store/rows.js';
import { joulesToKwh } from '../units.js';

/** NodeJobsSection is a node agent's jobs in its report. */
export interface NodeJobsSection {
  /** Per device: jobs + unattributed = node (the jobs' figure is the node's minus unattributed, exact). */
  byDevice: { id: string; nodeKwh: number; jobsKwh: number; unattributedKwh: number }[];
  /** Every job charged by this agent run, in start order: its run id (for `wattprint report`), energy and CO2e. */
  jobs: { runId: string; status: 'running' | 'ended'; startedAt: string; endedAt: string; itKwh: number; co2eLocationKg: number }[];
}

/** JobRunFacts are one job run and its devices, as stored. */
export interface JobRunFacts {
  run: RunRow;
  devices: DeviceRow[];
}

/** nodeJobsSection builds the section for a node agent's run; undefined for a run that charged no jobs. */
export function nodeJobsSection(run: RunRow, devices: DeviceRow[], jobRuns: JobRunFacts[]): NodeJobsSection | undefined {
  const unattributed = run.attribution?.unattributedJoules;
  if (!unattributed) return undefined;
  return {
    byDevice: devices.map((d) => {
      const node = d.nodeEnergyJoules ?? d.energyJoules;
      const rest = unattributed[d.id] ?? node;
      return { id: d.id, nodeKwh: joulesToKwh(node), jobsKwh: joulesToKwh(node - rest), unattributedKwh: joulesToKwh(rest) };
    }),
    jobs: jobRuns.map(({ run: j, devices: jd }) => ({
      runId: j.runId, status: j.status, startedAt: new Date(j.startedAtMs).toISOString(), endedAt: new Date(j.endedAtMs ?? j.lastTickMs).toISOString(),
      itKwh: joulesToKwh(jd.reduce((s, d) => s + d.energyJoules, 0)), co2eLocationKg: j.co2eLocationGrams / 1000,
    })),
  };
}
