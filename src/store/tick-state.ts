/**
 * The state a tick commits for a run — each device's totals and integrator state, the energy of each
 * device's current minute and of the run's current accounting period — as one binary value (runs.state_blob),
 * so a tick writes one row whatever the device count:
 * - numbers are float64s (exact, like the JSON they replace, without formatting every double every tick);
 * - strings (counter epochs, the period's source and quality), which change rarely, follow as JSON text,
 *   re-encoded only when one changes;
 * - a device's current minute becomes an energy_minute row once its energy moves on to a later minute, and the
 *   run's current period an energy_period row once its energy moves on (or the intensity, source or quality
 *   changes), or when the run is closed or reopened: one row per device-minute and per period instead of an
 *   upsert per tick. Readers add the open minutes and period (queries.ts): every committed joule and gram is
 *   visible at every moment, and a kill -9 loses nothing that was committed.
 *
 * Layout: u32 magic, u32 device count, u32 text bytes, u32 reserved; PERIOD_SLOTS float64 of the open period
 * (NaN start = none); SLOTS float64 per device (NaN = none); then the UTF-8 JSON text
 * {"e": {devKey: epoch}, "p": [source, quality]}.
 */
import type { IntensityQuality } from '../intensity/types.js';
import type { PeriodWrite, TickDeviceState as TickDevice } from './rows.js';

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

/** TickState is a decoded runs.state_blob. */
export interface TickState {
  devices: Map<number, DeviceTickState>;
  /** The run's current accounting period, not yet an energy_period row. */
  period?: PeriodWrite;
}

/** MinuteRow is energy to add to an energy_minute row. */
export interface MinuteRow {
  devKey: number;
  minute: number;
  joules: number;
  samples: number;
}

const MAGIC = 0x57505332; // 'WPS2'
const HEADER_BYTES = 16;
const PERIOD_SLOTS = 8;
const [P_START, P_SECONDS, P_IT, P_FACILITY, P_INTENSITY, P_CFE, P_LOCATION, P_MARKET] = [0, 1, 2, 3, 4, 5, 6, 7] as const;
const SLOTS = 10;
const [DEV, ENERGY, SAMPLES, COUNTER, POWER, WALL, NODE, MINUTE, MINUTE_JOULES, MINUTE_SAMPLES] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;

/**
 * TickStateWriter keeps one run's open minutes and open period between ticks and encodes the state into a
 * reused buffer. A transaction that fails is undone (rollback), so memory never runs ahead of the database.
 */
export class TickStateWriter {
  private readonly open = new Map<number, OpenMinute>();
  /** Open minutes as they were before the transaction in progress (undefined = none), for rollback. */
  private readonly undo = new Map<number, OpenMinute | undefined>();
  private period?: PeriodWrite;
  /** The open period before the transaction in progress (null = not changed yet in it). */
  private periodUndo: PeriodWrite | undefined | null = null;
  private buffer = new ArrayBuffer(4096);
  private header = new Uint32Array(this.buffer, 0, 4);
  private slots = new Float64Array(this.buffer, HEADER_BYTES);
  private text = Buffer.alloc(0);
  private textEpochs: (string | undefined)[] = [];
  private textPeriod: [string, IntensityQuality] | undefined;

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

  /**
   * addPeriod adds a tick's part of an accounting period: to the open period when it is the same period at the
   * same intensity, source and quality; else it opens this one and returns the one it closes, to write as a row
   * (an earlier period is returned at once). Rows add up in the database as the ticks' upserts did.
   */
  addPeriod(p: PeriodWrite): PeriodWrite | undefined {
    const current = this.period;
    if (current && samePeriod(current, p)) {
      this.savePeriodUndo();
      this.period = {
        ...current, itJoules: current.itJoules + p.itJoules, facilityJoules: current.facilityJoules + p.facilityJoules,
        co2eLocationGrams: current.co2eLocationGrams + p.co2eLocationGrams, co2eMarketGrams: current.co2eMarketGrams + p.co2eMarketGrams,
      };
      return undefined;
    }
    if (current && p.periodStartMs < current.periodStartMs) return p;
    this.savePeriodUndo();
    this.period = { ...p };
    return current;
  }

  /** closeAll returns (and forgets) the open minutes of these devices, as rows. */
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

  /** commit keeps what the transaction did; rollback puts the open minutes and period back as they were before it. */
  commit(): void {
    this.undo.clear();
    this.periodUndo = null;
  }

  rollback(): void {
    for (const [devKey, before] of this.undo) {
      if (before) this.open.set(devKey, before);
      else this.open.delete(devKey);
    }
    this.undo.clear();
    if (this.periodUndo !== null) this.period = this.periodUndo;
    this.periodUndo = null;
  }

  /** forget drops the open minutes and period: their rows were written from the stored state (run end, reopen). */
  forget(): void {
    this.open.clear();
    this.period = undefined;
  }

  /** closeMissing returns (and forgets) the open minutes of devices a tick no longer lists, as rows to write now. */
  closeMissing(devices: readonly TickDevice[]): MinuteRow[] {
    let listedOpen = 0;
    for (const d of devices) if (this.open.has(d.devKey)) listedOpen++;
    if (listedOpen === this.open.size) return [];
    const listed = new Set(devices.map((d) => d.devKey));
    return this.closeAll([...this.open.keys()].filter((devKey) => !listed.has(devKey)));
  }

  /** encode writes the devices' state, open minutes and open period. The buffer is reused: bind it before the next encode. */
  encode(devices: readonly TickDevice[]): Buffer {
    const listed = devices.length;
    this.encodeText(devices);
    const floats = PERIOD_SLOTS + listed * SLOTS;
    const bytes = HEADER_BYTES + floats * 8 + this.text.length;
    if (bytes > this.buffer.byteLength) {
      // A whole number of float64s: the slots view spans the buffer from the header on.
      this.buffer = new ArrayBuffer(Math.ceil(Math.max(bytes, this.buffer.byteLength * 2) / 8) * 8);
      this.header = new Uint32Array(this.buffer, 0, 4);
      this.slots = new Float64Array(this.buffer, HEADER_BYTES);
    }
    const { header, slots } = this;
    header[0] = MAGIC;
    header[1] = listed;
    header[2] = this.text.length;
    header[3] = 0;
    const p = this.period;
    slots[P_START] = p ? p.periodStartMs : NaN;
    slots[P_SECONDS] = p ? p.periodSeconds : NaN;
    slots[P_IT] = p ? p.itJoules : NaN;
    slots[P_FACILITY] = p ? p.facilityJoules : NaN;
    slots[P_INTENSITY] = p ? p.intensityGramsPerKwh : NaN;
    slots[P_CFE] = p?.cfe ?? NaN;
    slots[P_LOCATION] = p ? p.co2eLocationGrams : NaN;
    slots[P_MARKET] = p ? p.co2eMarketGrams : NaN;
    for (let i = 0; i < listed; i++) {
      const d = devices[i]!;
      const o = PERIOD_SLOTS + i * SLOTS;
      const open = this.open.get(d.devKey);
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
    this.text.copy(out, HEADER_BYTES + floats * 8);
    return out;
  }

  private encodeText(devices: readonly TickDevice[]): void {
    // Epochs change with a reboot or a driver reload, a period's source and quality with the intensity data:
    // compared every tick, the JSON is rebuilt only when one of them changed.
    const p = this.period;
    let same = this.text.length > 0 && this.textEpochs.length === devices.length &&
      this.textPeriod?.[0] === p?.source && this.textPeriod?.[1] === p?.quality;
    for (let i = 0; same && i < devices.length; i++) same = this.textEpochs[i] === devices[i]!.counterEpoch;
    if (same) return;
    this.textEpochs = devices.map((d) => d.counterEpoch);
    this.textPeriod = p ? [p.source, p.quality] : undefined;
    const epochs: Record<number, string> = {};
    for (const d of devices) if (d.counterEpoch !== undefined) epochs[d.devKey] = d.counterEpoch;
    this.text = Buffer.from(JSON.stringify({ e: epochs, ...(this.textPeriod ? { p: this.textPeriod } : {}) }), 'utf8');
  }

  private saveUndo(devKey: number, before: OpenMinute | undefined): void {
    if (!this.undo.has(devKey)) this.undo.set(devKey, before);
  }

  private savePeriodUndo(): void {
    if (this.periodUndo === null) this.periodUndo = this.period;
  }
}

/** samePeriod: a tick's part adds to the open period when nothing but the amounts differs. */
function samePeriod(a: PeriodWrite, b: PeriodWrite): boolean {
  return a.periodStartMs === b.periodStartMs && a.periodSeconds === b.periodSeconds && a.intensityGramsPerKwh === b.intensityGramsPerKwh &&
    a.cfe === b.cfe && a.source === b.source && a.quality === b.quality;
}

/** decodeTickState reads a runs.state_blob; undefined when it is not one (NULL, or an unknown layout). */
export function decodeTickState(blob: unknown): TickState | undefined {
  if (!(blob instanceof Uint8Array) || blob.byteLength < HEADER_BYTES + PERIOD_SLOTS * 8) return undefined;
  // Copied into an aligned buffer: a Buffer from SQLite may start at any byte offset.
  const bytes = new Uint8Array(blob.byteLength);
  bytes.set(blob);
  const header = new Uint32Array(bytes.buffer, 0, 4);
  if (header[0] !== MAGIC) return undefined;
  const count = header[1]!;
  const textLength = header[2]!;
  const floats = PERIOD_SLOTS + count * SLOTS;
  if (HEADER_BYTES + floats * 8 + textLength > bytes.byteLength) return undefined;
  const slots = new Float64Array(bytes.buffer, HEADER_BYTES, floats);
  const text = textLength > 0
    ? JSON.parse(Buffer.from(bytes.buffer, HEADER_BYTES + floats * 8, textLength).toString('utf8')) as { e?: Record<string, string>; p?: [string, IntensityQuality] }
    : {};
  const epochs = text.e ?? {};
  const opt = (v: number): number | undefined => (Number.isNaN(v) ? undefined : v);
  const devices = new Map<number, DeviceTickState>();
  for (let i = 0; i < count; i++) {
    const o = PERIOD_SLOTS + i * SLOTS;
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
    devices.set(devKey, state);
  }
  const start = opt(slots[P_START]!);
  if (start === undefined || !text.p) return { devices };
  const period: PeriodWrite = {
    periodStartMs: start, periodSeconds: slots[P_SECONDS]!, itJoules: slots[P_IT]!, facilityJoules: slots[P_FACILITY]!,
    intensityGramsPerKwh: slots[P_INTENSITY]!, co2eLocationGrams: slots[P_LOCATION]!, co2eMarketGrams: slots[P_MARKET]!,
    source: text.p[0], quality: text.p[1],
  };
  const cfe = opt(slots[P_CFE]!);
  if (cfe !== undefined) period.cfe = cfe;
  return { devices, period };
}

/**
 * mergePeriod adds an open period to the stored rows the way the energy_period upsert would (sums; intensity
 * the energy-weighted one of what was accounted; every source named; 'mixed' quality when they differ).
 */
export function mergePeriod(rows: readonly PeriodWrite[], open: PeriodWrite | undefined): PeriodWrite[] {
  if (!open) return [...rows];
  const at = rows.findIndex((r) => r.periodStartMs === open.periodStartMs);
  if (at < 0) return [...rows, { ...open }].sort((a, b) => a.periodStartMs - b.periodStartMs);
  const r = rows[at]!;
  const facility = r.facilityJoules + open.facilityJoules;
  const location = r.co2eLocationGrams + open.co2eLocationGrams;
  const merged: PeriodWrite = {
    periodStartMs: r.periodStartMs, periodSeconds: open.periodSeconds, itJoules: r.itJoules + open.itJoules, facilityJoules: facility,
    intensityGramsPerKwh: facility > 0 ? (location * 3_600_000) / facility : open.intensityGramsPerKwh,
    co2eLocationGrams: location, co2eMarketGrams: r.co2eMarketGrams + open.co2eMarketGrams,
    source: r.source.includes(open.source) ? r.source : `${r.source}; ${open.source}`,
    quality: r.quality === open.quality ? r.quality : 'mixed',
  };
  if (open.cfe !== undefined) merged.cfe = open.cfe;
  return rows.map((row, i) => (i === at ? merged : row));
}

/** SAMPLE_SLOTS is how many float64s a device takes in a samples row: devKey, power W, counter J (NaN = none). */
const SAMPLE_SLOTS = 3;

/** encodeSamples writes one tick's raw samples as a BLOB of float64 triples (samples.data since schema v6). */
export function encodeSamples(samples: readonly { devKey: number; powerWatts?: number; counterJoules?: number }[]): Buffer {
  const values = new Float64Array(samples.length * SAMPLE_SLOTS);
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    values[i * SAMPLE_SLOTS] = s.devKey;
    values[i * SAMPLE_SLOTS + 1] = s.powerWatts ?? NaN;
    values[i * SAMPLE_SLOTS + 2] = s.counterJoules ?? NaN;
  }
  return Buffer.from(values.buffer);
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
