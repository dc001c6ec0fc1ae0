import type { Snapshot } from '../src/snapshot.js';
import { joulesToKwh } from '../src/units.js';

/** statusLine is the one-line live status `run` shows on a terminal: power, kWh, kgCO2e, elapsed, projected. */
export function statusLine(s: Snapshot): string {
  const parts = [
    `${s.totalPowerWatts.toFixed(0)} W`,
    `${joulesToKwh(s.facilityEnergyJoules).toFixed(4)} kWh`,
    `${(s.co2eGrams.location / 1000).toFixed(4)} kgCO2e`,
    formatElapsed(s.elapsedSeconds),
  ];
  if (s.projected) parts.push(`projected ${(s.projected.co2eGrams / 1000).toFixed(3)} kgCO2e at ${(s.projected.fraction * 100).toFixed(0)}%`);
  return `wattprint ${parts.join(' | ')}`;
}

/** formatElapsed renders seconds as H:MM:SS. */
export function formatElapsed(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** TerminalStatus redraws the status line in place on a TTY stream. */
export class TerminalStatus {
  private shown = false;
  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(snapshot: Snapshot): void {
    const width = Math.max(20, (this.stream.columns ?? 100) - 1);
    this.stream.write(`\r\x1b[2K${statusLine(snapshot).slice(0, width)}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}
