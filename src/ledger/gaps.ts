/** GAP_INTERVALS is how many of a device's own sampling intervals sampled power may bridge; a longer silence is a gap. */
export const GAP_INTERVALS = 5;

/** GapEvent is what the integrator or the ledger saw when energy was not simply integrated. */
export type GapEvent = 'gap' | 'reset' | 'epoch-change' | 'recovered' | 'edge-start' | 'edge-end' | 'silent' | 'absent' | 'restart-bridged' | 'restart-gap';

/** GAP_REASONS are the words a report shows for each event; one table for live tracking and replay. */
export const GAP_REASONS: Readonly<Record<GapEvent, string>> = {
  gap: `no readings for more than ${GAP_INTERVALS} intervals: not bridged`,
  reset: 'counter went backwards (reset): energy since the reset counted',
  'epoch-change': 'counter restarted (reboot or driver reload): energy in between unknown',
  recovered: 'tracker restarted: the downtime\'s energy recovered from the hardware counter',
  'restart-bridged': 'tracker restarted: the downtime bridged by the trapezoid rule between the samples before and after',
  'restart-gap': 'tracker restarted: no readings in between, not bridged',
  'edge-start': 'edge, held: from the run\'s start to the first sample, the first sample\'s power held',
  'edge-end': 'edge, held: from the last sample to the run\'s end, the last sample\'s power held',
  silent: 'no readings until the end of the run (device lost or collector failing)',
  absent: 'not found when the run resumed: its energy in this session is not counted',
};

/** gapLimitSeconds is the longest silence bridged for a device sampled every intervalSeconds. */
export function gapLimitSeconds(intervalSeconds: number): number {
  return GAP_INTERVALS * intervalSeconds;
}
