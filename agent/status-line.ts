import { formatCo2eKg, formatKwh, formatWatts } from '../src/report/format.js';
import type { Snapshot } from '../src/snapshot.js';
import { joulesToKwh } from '../src/units.js';

/** statusLine is the one-line live status `run` shows on a terminal: power, energy, CO2e, elapsed, projected. */
export function statusLine(s: Snapshot): string {
  const parts = [
    formatWatts(s.totalPowerWatts),
    formatKwh(joulesToKwh(s.facilityEnergyJoules)),
    `${formatCo2eKg(s.co2eGrams.location / 1000)} CO2e`,
    formatElapsed(s.elapsedSeconds),
  ];
  if (s.projected) parts.push(`projected ${formatCo2eKg(s.projected.co2eGrams / 1000)} at ${(s.projected.fraction * 100).toFixed(0)}%`);
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
