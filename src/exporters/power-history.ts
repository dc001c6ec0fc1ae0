import type { Snapshot } from '../snapshot.js';
import type { PowerHistory } from './protocol.js';

interface Point {
  unixSeconds: number;
  /** Device ids of that tick: the same array from tick to tick while the devices do not change. */
  ids: readonly string[];
  powerWatts: Float64Array;
}

/**
 * PowerHistoryRing keeps the last `size` ticks' power per device, so a dashboard opened mid-run draws a
 * chart at once. Fixed size: memory does not grow with run length.
 */
export class PowerHistoryRing {
  private readonly points: (Point | undefined)[];
  private next = 0;
  private count = 0;
  private lastIds: string[] = [];
  /** version changes on every push, so a serialised copy can be cached until the next tick. */
  version = 0;

  constructor(private readonly size: number) {
    this.points = new Array<Point | undefined>(Math.max(0, size));
  }

  /** push records a snapshot's power per device (one small typed array per tick: it runs whether or not anyone listens). */
  push(s: Snapshot): void {
    this.version++;
    if (this.size <= 0) return;
    const n = s.devices.length;
    let ids = this.lastIds;
    if (ids.length !== n || s.devices.some((d, i) => d.id !== ids[i])) ids = this.lastIds = s.devices.map((d) => d.id);
    const powerWatts = new Float64Array(n);
    for (let i = 0; i < n; i++) powerWatts[i] = s.devices[i]!.powerWatts;
    this.points[this.next] = { unixSeconds: Date.parse(s.at) / 1000, ids, powerWatts };
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
    };
  }
}
