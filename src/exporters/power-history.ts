import type { Snapshot } from '../snapshot.js';
import type { PowerHistory } from './protocol.js';

interface Point {
  unixSeconds: number;
  powerWatts: Map<string, number>;
  itEnergyJoules: number;
  facilityEnergyJoules: number;
  co2eGrams: number;
  intensityGramsPerKwh: number;
}

/**
 * PowerHistoryRing keeps the last `size` ticks' power per device and the run's totals, so a dashboard opened
 * mid-run draws its charts at once. Fixed size: memory does not grow with run length.
 */
export class PowerHistoryRing {
  private readonly points: (Point | undefined)[];
  private next = 0;
  private count = 0;
  /** version changes on every push, so a serialised copy can be cached until the next tick. */
  version = 0;

  constructor(private readonly size: number) {
    this.points = new Array<Point | undefined>(Math.max(0, size));
  }

  /** push records a snapshot's power per device, energy, CO2e and intensity. */
  push(s: Snapshot): void {
    this.version++;
    if (this.size <= 0) return;
    const powerWatts = new Map<string, number>();
    for (const d of s.devices) powerWatts.set(d.id, d.powerWatts);
    this.points[this.next] = {
      unixSeconds: Date.parse(s.at) / 1000, powerWatts, itEnergyJoules: s.itEnergyJoules, facilityEnergyJoules: s.facilityEnergyJoules,
      co2eGrams: s.co2eGrams.location, intensityGramsPerKwh: s.intensityGramsPerKwh,
    };
    this.next = (this.next + 1) % this.size;
    this.count = Math.min(this.count + 1, this.size);
  }

  /** toColumns returns the history oldest first, column-wise; device order follows `deviceOrder` first. */
  toColumns(deviceOrder: string[]): PowerHistory {
    const ordered: Point[] = [];
    const start = (this.next - this.count + this.size) % Math.max(1, this.size);
    for (let i = 0; i < this.count; i++) ordered.push(this.points[(start + i) % this.size]!);
    const ids = [...deviceOrder];
    const known = new Set(ids);
    for (const p of ordered) {
      for (const id of p.powerWatts.keys()) if (!known.has(id)) { known.add(id); ids.push(id); }
    }
    return {
      deviceIds: ids,
      t: ordered.map((p) => p.unixSeconds),
      powerWatts: ids.map((id) => ordered.map((p) => p.powerWatts.get(id) ?? null)),
      itEnergyJoules: ordered.map((p) => p.itEnergyJoules),
      facilityEnergyJoules: ordered.map((p) => p.facilityEnergyJoules),
      co2eGrams: ordered.map((p) => p.co2eGrams),
      intensityGramsPerKwh: ordered.map((p) => p.intensityGramsPerKwh),
    };
  }
}
