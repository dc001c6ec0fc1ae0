/**
 * The state a tick commits for every device of a run — totals, integrator state, and the energy of the minute
 * still open — as one binary value (runs.state_blob), so a tick is a few writes whatever the device count:
 * - numbers are float64s (exact, like the JSON they replace, without formatting every double every tick);
 * - counter epochs (boot id / driver, which change only with a reboot) follow as JSON text, re-encoded only
 *   when one changes;
 * - each device's current minute accumulates here, and becomes an energy_minute row once the device's energy
 *   moves on to a later minute (or the run is closed or reopened): one row per device-minute instead of one
 *   upsert per device-tick. Readers add the open minutes (queries.ts), so every committed joule is visible.
 *
 * Layout: u32 magic, u32 device count, u32 epoch bytes, u32 reserved, then SLOTS float64 per device (NaN =
 * none), then the epochs JSON ({devKey: epoch}) in UTF-8.
 */

/** DeviceTickState is one device's entry: what runs.state_json held, plus its open minute. */
export interface DeviceTickState {
  energyJoules: number;
  samples: number;
  counterJoules?: number;
  counterEpoch?: string;
  powerWatts?: number;
  stateWallMs?: number;
  nodeEnergyJoules?: number;
  open?: OpenMinute;
}

/** OpenMinute is a device's energy in its current UTC minute (minute = Unix ms / 60 000), not yet a row. */
export interface OpenMinute {
  minute: number;
  joules: number;
  samples: number;
}

const MAGIC = 0x57505331; // 'WPS1'
const HEADER_BYTES = 16;
const SLOTS = 10;
const [DEV, ENERGY, SAMPLES, COUNTER, POWER, WALL, NODE, MINUTE, MINUTE_JOULES, MINUTE_SAMPLES] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;

/** TickDevice is what a tick gives for one device (TickWrite.devices). */
interface TickDevice {
  devKey: number;
  energyJoules: number;
  nodeEnergyJoules?: number;
  samples: number;
  counterJoules?: number;
  counterEpoch?: string;
  powerWatts?: number;
  stateWallMs?: number;
}

/** MinuteRow is energy to add to an energy_minute row. */
export interface MinuteRow {
  devKey: number;
  minute: number;
  joules: number;
  samples: number;
}

/**
 * TickStateWriter keeps each device's open minute between ticks and encodes the state into a reused buffer.
 * A commit that fails is undone (rollback) so memory never runs ahead of the database.
 */
export class TickStateWriter {
  private readonly open = new Map<number, OpenMinute>();
  /** Open minutes as they were before the transaction in progress (undefined = none), for rollback. */
  private readonly undo = new Map<number, OpenMinute | undefined>();
  private buffer = new ArrayBuffer(4096);
  private header = new Uint32Array(this.buffer, 0, 4);
  private slots = new Float64Array(this.buffer, HEADER_BYTES);
  private epochKey = '';
  private epochBytes = Buffer.alloc(0);
  private epochScratch: (string | undefined)[] = [];

  /**
   * addMinute adds a tick's energy of one device-minute: to the open minute, or — for a later minute — opening
   * a new one and returning the one it closes as a row; energy of an earlier minute is returned as a row at once.
   */
  addMinute(devKey: number, minute: number, joules: number): MinuteRow | undefined {
    const current = this.open.get(devKey);
    if (current && current.minute === minute) {
      this.saveUndo(devKey, current);
      this.open.set(devKey, { minute, joules: current.joules + joules, samples: current.samples + 1 });
      return undefined;
    }
    if (current && minute < current.minute) return { devKey, minute, joules, samples: 1 };
    this.saveUndo(devKey, current);
    this.open.set(devKey, { minute, joules, samples: 1 });
    return current ? { devKey, minute: current.minute, joules: current.joules, samples: current.samples } : undefined;
  }

  /** closeAll returns (and forgets) the open minutes of these devices, as rows: at run end and on reopen. */
  closeAll(devKeys: Iterable<number>): MinuteRow[] {
    const rows: MinuteRow[] = [];
    for (const devKey of devKeys) {
      const current = this.open.get(devKey);
      if (!current) continue;
      this.saveUndo(devKey, current);
      this.open.delete(devKey);
      rows.push({ devKey, ...current });
    }
    return rows;
  }

  /** commit keeps what the transaction did; rollback puts the open minutes back as they were before it. */
  commit(): void {
    this.undo.clear();
  }

  rollback(): void {
    for (const [devKey, before] of this.undo) {
      if (before) this.open.set(devKey, before);
      else this.open.delete(devKey);
    }
    this.undo.clear();
  }

  /**
   * encode writes the devices' state and open minutes; an open minute of a device missing from `devices` is
   * returned in `orphans` as a row to write now. The buffer is reused: bind it before the next encode.
   */
  encode(devices: readonly TickDevice[], orphans: MinuteRow[]): Buffer {
    const listed = devices.length;
    this.encodeEpochs(devices);
    const bytes = HEADER_BYTES + listed * SLOTS * 8 + this.epochBytes.length;
    if (bytes > this.buffer.byteLength) {
      this.buffer = new ArrayBuffer(Math.max(bytes, this.buffer.byteLength * 2));
      this.header = new Uint32Array(this.buffer, 0, 4);
      this.slots = new Float64Array(this.buffer, HEADER_BYTES);
    }
    const { header, slots } = this;
    header[0] = MAGIC;
    header[1] = listed;
    header[2] = this.epochBytes.length;
    header[3] = 0;
    let withOpen = 0;
    for (let i = 0; i < listed; i++) {
      const d = devices[i]!;
      const o = i * SLOTS;
      const open = this.open.get(d.devKey);
      if (open) withOpen++;
      slots[o + DEV] = d.devKey;
      slots[o + ENERGY] = d.energyJoules;
      slots[o + SAMPLES] = d.samples;
      slots[o + COUNTER] = d.counterJoules ?? NaN;
      slots[o + POWER] = d.powerWatts ?? NaN;
      slots[o + WALL] = d.stateWallMs ?? NaN;
      slots[o + NODE] = d.nodeEnergyJoules ?? NaN;
      slots[o + MINUTE] = open ? open.minute : NaN;
      slots[o + MINUTE_JOULES] = open ? open.joules : 0;
      slots[o + MINUTE_SAMPLES] = open ? open.samples : 0;
    }
    const out = Buffer.from(this.buffer, 0, bytes);
    this.epochBytes.copy(out, HEADER_BYTES + listed * SLOTS * 8);
    if (withOpen < this.open.size) {
      const listedKeys = new Set(devices.map((d) => d.devKey));
      for (const devKey of [...this.open.keys()]) if (!listedKeys.has(devKey)) orphans.push(...this.closeAll([devKey]));
    }
    return out;
  }

  /** forget drops the open minutes of devices whose state was closed elsewhere (closeAll covers the usual case). */
  forget(devKeys: Iterable<number>): void {
    for (const devKey of devKeys) this.open.delete(devKey);
  }

  private encodeEpochs(devices: readonly TickDevice[]): void {
    // Epochs change with a reboot or a driver reload: compare, and rebuild the JSON only then.
    let same = this.epochScratch.length === devices.length;
    for (let i = 0; same && i < devices.length; i++) same = this.epochScratch[i] === devices[i]!.counterEpoch;
    if (same && this.epochKey !== '') return;
    this.epochScratch = devices.map((d) => d.counterEpoch);
    const epochs: Record<number, string> = {};
    for (const d of devices) if (d.counterEpoch !== undefined) epochs[d.devKey] = d.counterEpoch;
    this.epochKey = JSON.stringify(epochs);
    this.epochBytes = Buffer.from(this.epochKey, 'utf8');
  }

  private saveUndo(devKey: number, before: OpenMinute | undefined): void {
    if (!this.undo.has(devKey)) this.undo.set(devKey, before);
  }
}

/** decodeTickState reads a runs.state_blob; undefined when it is not one (NULL, or an unknown layout). */
export function decodeTickState(blob: unknown): Map<number, DeviceTickState> | undefined {
  if (!(blob instanceof Uint8Array) || blob.byteLength < HEADER_BYTES) return undefined;
  // Copied into an aligned buffer: a Buffer from SQLite may start at any byte offset.
  const bytes = new Uint8Array(blob.byteLength);
  bytes.set(blob);
  const header = new Uint32Array(bytes.buffer, 0, 4);
  if (header[0] !== MAGIC) return undefined;
  const count = header[1]!;
  const epochLength = header[2]!;
  if (HEADER_BYTES + count * SLOTS * 8 + epochLength > bytes.byteLength) return undefined;
  const slots = new Float64Array(bytes.buffer, HEADER_BYTES, count * SLOTS);
  const epochs = epochLength > 0
    ? JSON.parse(Buffer.from(bytes.buffer, HEADER_BYTES + count * SLOTS * 8, epochLength).toString('utf8')) as Record<string, string>
    : {};
  const states = new Map<number, DeviceTickState>();
  const opt = (v: number): number | undefined => (Number.isNaN(v) ? undefined : v);
  for (let i = 0; i < count; i++) {
    const o = i * SLOTS;
    const devKey = slots[o + DEV]!;
    const state: DeviceTickState = { energyJoules: slots[o + ENERGY]!, samples: slots[o + SAMPLES]! };
    const counterJoules = opt(slots[o + COUNTER]!);
    if (counterJoules !== undefined) state.counterJoules = counterJoules;
    if (epochs[devKey] !== undefined) state.counterEpoch = epochs[devKey];
    const powerWatts = opt(slots[o + POWER]!);
    if (powerWatts !== undefined) state.powerWatts = powerWatts;
    const stateWallMs = opt(slots[o + WALL]!);
    if (stateWallMs !== undefined) state.stateWallMs = stateWallMs;
    const nodeEnergyJoules = opt(slots[o + NODE]!);
    if (nodeEnergyJoules !== undefined) state.nodeEnergyJoules = nodeEnergyJoules;
    const minute = opt(slots[o + MINUTE]!);
    if (minute !== undefined) state.open = { minute, joules: slots[o + MINUTE_JOULES]!, samples: slots[o + MINUTE_SAMPLES]! };
    states.set(devKey, state);
  }
  return states;
}

/** SAMPLE_SLOTS is how many float64s a device takes in a samples row: devKey, power W, counter J (NaN = none). */
const SAMPLE_SLOTS = 3;

/** SampleEncoder writes a tick's raw samples into a reused buffer (samples.data, a BLOB since schema v6). */
export class SampleEncoder {
  private buffer = new Float64Array(64 * SAMPLE_SLOTS);

  encode(samples: readonly { devKey: number; powerWatts?: number; counterJoules?: number }[]): Buffer {
    const n = samples.length * SAMPLE_SLOTS;
    if (n > this.buffer.length) this.buffer = new Float64Array(Math.max(n, this.buffer.length * 2));
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      this.buffer[i * SAMPLE_SLOTS] = s.devKey;
      this.buffer[i * SAMPLE_SLOTS + 1] = s.powerWatts ?? NaN;
      this.buffer[i * SAMPLE_SLOTS + 2] = s.counterJoules ?? NaN;
    }
    return Buffer.from(this.buffer.buffer, 0, n * 8);
  }
}

/** decodeSamples reads a samples.data value: a BLOB of float64 triples, or the JSON [[devKey, W, J], …] of older runs. */
export function decodeSamples(data: unknown): [number, number | null, number | null][] {
  if (typeof data === 'string') return JSON.parse(data) as [number, number | null, number | null][];
  if (!(data instanceof Uint8Array)) return [];
  const bytes = new Uint8Array(data.byteLength);
  bytes.set(data);
  const values = new Float64Array(bytes.buffer, 0, Math.floor(bytes.byteLength / 8));
  const out: [number, number | null, number | null][] = [];
  const nullable = (v: number): number | null => (Number.isNaN(v) ? null : v);
  for (let i = 0; i + SAMPLE_SLOTS <= values.length; i += SAMPLE_SLOTS) out.push([values[i]!, nullable(values[i + 1]!), nullable(values[i + 2]!)]);
  return out;
}
