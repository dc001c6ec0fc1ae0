import type { Snapshot } from '../snapshot.js';
import type { PowerHistory } from './protocol.js';

interface Point {
  unixSeconds: number;
  /** Device ids of this point (one array shared by consecutive points while the devices stay the same). */
  ids: readonly string[];
  powerWatts: Float64Array;
  itEnergyJoules: number;
  facilityEnergyJoules: number;
  co2eGrams: number;
  intensityGramsPerKwh: number;
}

/** HistoryTick is what one tick adds to the history: its time, power per device and the run's totals. */
export interface HistoryTick {
  atMs: number;
  deviceIds: readonly string[];
  powerWatts: Float64Array;
  itEnergyJoules: number;
  facilityEnergyJoules: number;
  co2eLocationGrams: number;
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
  private lastIds: string[] = [];
  private lastSource?: readonly string[];
  /** version changes on every push, so a serialised copy can be cached until the next tick. */
  version = 0;

  constructor(private readonly size: number) {
    this.points = new Array<Point | undefined>(Math.max(0, size));
  }

  /** push records a snapshot's power per device, energy, CO2e and intensity. */
  push(s: Snapshot): void {
    const powerWatts = new Float64Array(s.devices.length);
    for (let i = 0; i < s.devices.length; i++) powerWatts[i] = s.devices[i]!.powerWatts;
    this.pushTick({
      atMs: Date.parse(s.at), deviceIds: s.devices.map((d) => d.id), powerWatts, itEnergyJoules: s.itEnergyJoules,
      facilityEnergyJoules: s.facilityEnergyJoules, co2eLocationGrams: s.co2eGrams.location, intensityGramsPerKwh: s.intensityGramsPerKwh,
    });
  }

  /**
   * pushTick records one tick (its arrays copied: callers reuse them). One small typed array per tick: it runs
   * every tick whether or not anyone listens.
   */
  pushTick(t: HistoryTick): void {
    this.version++;
    if (this.size <= 0) return;
    const n = t.deviceIds.length;
    let ids = this.lastIds;
    // The tracker hands the same ids array while its devices stay the same: compared only when it is another.
    if (t.deviceIds !== this.lastSource && (ids.length !== n || t.deviceIds.some((id, i) => id !== ids[i]))) ids = this.lastIds = [...t.deviceIds];
    this.lastSource = t.deviceIds;
    this.points[this.next] = {
      unixSeconds: t.atMs / 1000, ids, powerWatts: t.powerWatts.slice(0, n), itEnergyJoules: t.itEnergyJoules,
      facilityEnergyJoules: t.facilityEnergyJoules, co2eGrams: t.co2eLocationGrams, intensityGramsPerKwh: t.intensityGramsPerKwh,
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
      for (const id of p.ids) if (!known.has(id)) { known.add(id); ids.push(id); }
    }
    // Points share their ids array while the devices stay the same: one index per distinct array.
    const indexes = new Map<readonly string[], Map<string, number>>();
    const at = (p: Point, id: string): number | null => {
      let index = indexes.get(p.ids);
      if (!index) indexes.set(p.ids, (index = new Map(p.ids.map((d, i) => [d, i]))));
      const i = index.get(id);
      return i === undefined ? null : p.powerWatts[i]!;
    };
    return {
      deviceIds: ids,
      t: ordered.map((p) => p.unixSeconds),
      powerWatts: ids.map((id) => ordered.map((p) => at(p, id))),
      itEnergyJoules: ordered.map((p) => p.itEnergyJoules),
      facilityEnergyJoules: ordered.map((p) => p.facilityEnergyJoules),
      co2eGrams: ordered.map((p) => p.co2eGrams),
      intensityGramsPerKwh: ordered.map((p) => p.intensityGramsPerKwh),
    };
  }
}
