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
  private lastSource?: readonly string[];
  /** version changes on every push, so a serialised copy can be cached until the next tick. */
  version = 0;

  constructor(private readonly size: number) {
    this.points = new Array<Point | undefined>(Math.max(0, size));
  }

  /** push records a snapshot's power per device. */
  push(s: Snapshot): void {
    const powerWatts = new Float64Array(s.devices.length);
    for (let i = 0; i < s.devices.length; i++) powerWatts[i] = s.devices[i]!.powerWatts;
    this.pushPowers(Date.parse(s.at), s.devices.map((d) => d.id), powerWatts);
  }

  /**
   * pushPowers records one tick's power per device (copied: callers reuse their arrays). One small typed array
   * per tick: it runs every tick whether or not anyone listens.
   */
  pushPowers(atMs: number, deviceIds: readonly string[], powerWatts: Float64Array): void {
    this.version++;
    if (this.size <= 0) return;
    const n = deviceIds.length;
    let ids = this.lastIds;
    // The tracker hands the same ids array while its devices stay the same: compared only when it is another.
    if (deviceIds !== this.lastSource && (ids.length !== n || deviceIds.some((id, i) => id !== ids[i]))) ids = this.lastIds = [...deviceIds];
    this.lastSource = deviceIds;
    this.points[this.next] = { unixSeconds: atMs / 1000, ids, powerWatts: powerWatts.slice(0, n) };
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
