import { formatEnergyJoules, formatMassGrams, formatWatts, sig } from '../src/report/format.js';
import type { Snapshot } from '../src/snapshot.js';

/**
 * statusLine is the one-line live status `run` shows on a terminal. Like the dashboard it shows IT figures
 * first and labels them (the hardware's own draw), then facility energy (× PUE), which CO2e is computed from:
 * `wattprint r1 | IT 1.45 kW | IT 3.616 kWh, facility 3.977 kWh | CO2e 1.50 kg | 0:02:30`. A run charged a share
 * of shared devices shows their whole power as `devices 1.45 kW (run charged 46.0%)`.
 */
export function statusLine(s: Snapshot): string {
  // Power is each whole device's draw; a run charged a share of them says so, and how much of their energy it has.
  let deviceJoules = 0;
  let shared = false;
  for (const d of s.devices) {
    deviceJoules += d.deviceEnergyJoules ?? d.energyJoules;
    if (d.deviceEnergyJoules !== undefined) shared = true;
  }
  const parts = [
    shared && deviceJoules > 0
      ? `devices ${formatWatts(s.totalPowerWatts)} (run charged ${sig((100 * s.itEnergyJoules) / deviceJoules, 3)}%)`
      : `IT ${formatWatts(s.totalPowerWatts)}`,
    `IT ${formatEnergyJoules(s.itEnergyJoules)}, facility ${formatEnergyJoules(s.facilityEnergyJoules)}`,
    `CO2e ${formatMassGrams(s.co2eGrams.location)}`,
    formatElapsed(s.elapsedSeconds),
  ];
  if (s.projected) parts.push(`projected CO2e ${formatMassGrams(s.projected.co2eGrams)} (${(s.projected.fraction * 100).toFixed(0)}% done)`);
  // The job's open phases, innermost last: "phase train > eval".
  const open = (s.phases ?? []).filter((p) => p.endedAt === undefined).map((p) => p.name);
  if (open.length) parts.unshift(`phase ${open.join(' > ')}`);
  return `wattprint ${s.runId} | ${parts.join(' | ')}`;
}

/** formatElapsed renders seconds as H:MM:SS. */
export function formatElapsed(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

const ESC = '\x1b';

/**
 * TerminalStatus keeps the status on the terminal's bottom line while the job prints above it: it narrows
 * the scroll region to the rows above (as apt's progress bar does), so the child's output scrolls there and
 * never mixes with the status. close() gives the whole screen back.
 */
export class TerminalStatus {
  private rows = 0;
  private last = '';
  private readonly onResize = () => this.setup();

  constructor(private readonly stream: NodeJS.WriteStream) {
    this.setup();
    stream.on('resize', this.onResize);
  }

  update(snapshot: Snapshot): void {
    this.last = statusLine(snapshot);
    this.draw();
  }

  close(): void {
    this.stream.off('resize', this.onResize);
    if (this.rows < 2) return;
    // Restore the full scroll region and clear the status row, leaving the cursor where the job left it.
    this.stream.write(`${ESC}7${ESC}[1;${this.rows}r${ESC}8${ESC}7${ESC}[${this.rows};1H${ESC}[2K${ESC}8`);
  }

  private setup(): void {
    this.rows = this.stream.rows ?? 0;
    if (this.rows < 2) return;
    // Make room for the status row, then confine scrolling to the rows above it.
    this.stream.write(`\n${ESC}7${ESC}[1;${this.rows - 1}r${ESC}8${ESC}[1A`);
    if (this.last) this.draw();
  }

  private draw(): void {
    if (this.rows < 2) return;
    const width = Math.max(20, (this.stream.columns ?? 100) - 1);
    this.stream.write(`${ESC}7${ESC}[${this.rows};1H${ESC}[2K${this.last.slice(0, width)}${ESC}8`);
  }
}
