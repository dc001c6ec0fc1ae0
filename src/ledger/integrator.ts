import type { EnergyMethod, Reading } from '../types.js';
import { counterDelta, trapezoidJoules, type CounterEvent } from './counter.js';
import { gapLimitSeconds } from './gaps.js';

/** DeviceState is what the integrator remembers per device; it is persisted each tick for resume. */
export interface DeviceState {
  counterJoules?: number;
  counterEpoch?: string;
  powerWatts?: number;
  /** Wall clock of the last accepted reading (ms since epoch). */
  wallMs: number;
  /** Monotonic clock of the last accepted reading (seconds); undefined after a resume (other process). */
  monoSeconds?: number;
}

/** Contribution is energy attributed to one device over a wall-clock interval. */
export interface Contribution {
  deviceId: string;
  energyJoules: number;
  startMs: number;
  endMs: number;
  /**
   * Counter wrap/reset, energy recovered across agent downtime, a gap that was not bridged, or 'absurd': a
   * counter step above the device's ceiling, refused (no energy, the state stays at the last good reading).
   */
  event?: CounterEvent | 'recovered' | 'gap' | 'epoch-change' | 'absurd';
  /** The interval began in an earlier session of the tracker (it restarted in between). */
  resumed?: boolean;
}

/** IntegratorOptions tune the integration. */
export interface IntegratorOptions {
  /** Sampling interval in seconds of a device that has none of its own (setInterval). */
  intervalSeconds: number;
  /** Upper bound of plausible device power in watts, used to tell a wrap from a reset (default 10 kW). */
  maxPowerWatts?: (deviceId: string) => number;
}

/**
 * Integrator turns readings into energy: counter deltas (with wrap and reset) for counter devices, the
 * trapezoid rule for sampled and modelled power, and gaps where sampled power went silent too long.
 * Δt comes from the monotonic clock; wall time only places energy in time.
 */
export class Integrator {
  private readonly states = new Map<string, DeviceState>();
  private readonly intervals = new Map<string, number>();

  constructor(private readonly options: IntegratorOptions) {}

  /**
   * setInterval gives a device its own sampling interval in seconds: the gap rule bridges up to GAP_INTERVALS
   * of them, so a device read every 60 s is not silent after 5 s.
   */
  setInterval(deviceId: string, intervalSeconds: number): void {
    this.intervals.set(deviceId, intervalSeconds);
  }

  /** intervalOf is a device's sampling interval in seconds. */
  intervalOf(deviceId: string): number {
    return this.intervals.get(deviceId) ?? this.options.intervalSeconds;
  }

  /** restore seeds a device's state from storage (resume). Mono time is unknown: wall time is used once. */
  restore(deviceId: string, state: DeviceState): void {
    this.states.set(deviceId, { ...state, monoSeconds: undefined });
  }

  /**
   * saveStates copies every device's state (to roll back a tick whose commit failed). The map only: a state
   * object is never changed once stored (ingest stores a new one), so the saved ones stay as they were.
   */
  saveStates(): Map<string, DeviceState> {
    return new Map(this.states);
  }

  /** restoreStates puts back states saved by saveStates. */
  restoreStates(saved: Map<string, DeviceState>): void {
    this.states.clear();
    for (const [id, s] of saved) this.states.set(id, s);
  }

  /** state returns the current state of a device, for persistence. */
  state(deviceId: string): DeviceState | undefined {
    return this.states.get(deviceId);
  }

  /** ingest integrates one reading taken at (monoSeconds, wallMs); it returns the energy since the last one. */
  ingest(reading: Reading, method: EnergyMethod, monoSeconds: number, wallMs: number): Contribution | undefined {
    const prev = this.states.get(reading.deviceId);
    // A counter device's reading without its counter (one energy read failed) integrates nothing: the next
    // counter delta covers this interval, and integrating its power too would count it twice.
    if (method === 'counter' && reading.counterJoules === undefined) return undefined;
    const hasCounter = method === 'counter';
    if (!hasCounter && reading.powerWatts === undefined) return undefined;
    const next: DeviceState = {
      counterJoules: hasCounter ? reading.counterJoules : prev?.counterJoules,
      counterEpoch: hasCounter ? reading.counterEpoch : prev?.counterEpoch,
      powerWatts: reading.powerWatts,
      wallMs,
      monoSeconds,
    };
    this.states.set(reading.deviceId, next);
    if (!prev) return undefined;
    const resumed = prev.monoSeconds === undefined;
    const elapsedSeconds = resumed ? (wallMs - prev.wallMs) / 1000 : monoSeconds - prev.monoSeconds!;
    if (!(elapsedSeconds > 0)) {
      // After a resume the wall clock is all there is: if it went back, the downtime cannot be measured.
      return resumed ? { deviceId: reading.deviceId, energyJoules: 0, startMs: wallMs, endMs: wallMs, event: 'gap' } : undefined;
    }
    const startMs = wallMs - elapsedSeconds * 1000;
    // After a restart of the tracker the interval spans its downtime: the ledger says so in the report.
    // Contributions are built whole (no spread of a base object): this runs for every device every tick.
    if (hasCounter) return this.counterContribution(prev, reading, elapsedSeconds, resumed, startMs, wallMs);
    if (prev.powerWatts === undefined) return contribution(reading.deviceId, 0, startMs, wallMs, resumed, 'gap'); // method changed between sessions
    if (elapsedSeconds > gapLimitSeconds(this.intervalOf(reading.deviceId))) {
      return contribution(reading.deviceId, 0, startMs, wallMs, resumed, 'gap');
    }
    return contribution(reading.deviceId, trapezoidJoules(prev.powerWatts, reading.powerWatts!, elapsedSeconds), startMs, wallMs, resumed, undefined);
  }

  private counterContribution(
    prev: DeviceState,
    reading: Reading,
    elapsedSeconds: number,
    resumed: boolean,
    startMs: number,
    endMs: number,
  ): Contribution | undefined {
    if (prev.counterJoules === undefined) return undefined;
    const id = reading.deviceId;
    if (prev.counterEpoch !== reading.counterEpoch) {
      // The counter restarted for a known reason (reboot, driver reload): what it held before is unknowable.
      return contribution(id, 0, startMs, endMs, resumed, 'epoch-change');
    }
    const maxPowerWatts = this.options.maxPowerWatts?.(id) ?? 10_000;
    const { deltaJoules, event } = counterDelta(
      prev.counterJoules,
      reading.counterJoules!,
      reading.counterRangeJoules,
      maxPowerWatts * elapsedSeconds,
    );
    if (resumed) {
      // Same epoch, no reset: the counter spans the agent's downtime, so that energy is recovered exactly —
      // unless the downtime was long enough for a wrapping counter to go round unseen.
      // Ambiguous when one more wrap would still be plausible: then the energy is not known, it is a gap.
      const range = reading.counterRangeJoules;
      const ambiguous = range !== undefined && deltaJoules + range <= maxPowerWatts * elapsedSeconds;
      return (event === 'ok' || event === 'wrap') && !ambiguous
        ? contribution(id, deltaJoules, startMs, endMs, true, 'recovered') : contribution(id, 0, startMs, endMs, true, 'gap');
    }
    if (event === 'ok' && deltaJoules > maxPowerWatts * elapsedSeconds) {
      // More energy than the device can draw in the time: a corrupt read, not a measurement. The next good
      // reading continues from the last good one, so nothing true is lost.
      this.states.set(id, prev);
      return contribution(id, 0, startMs, endMs, false, 'absurd');
    }
    return contribution(id, deltaJoules, startMs, endMs, false, event === 'ok' ? undefined : event);
  }
}

/** contribution builds a Contribution with one shape whatever the case (`resumed` only when true, as before). */
function contribution(deviceId: string, energyJoules: number, startMs: number, endMs: number, resumed: boolean, event: Contribution['event']): Contribution {
  const c: Contribution = resumed ? { deviceId, startMs, endMs, resumed: true, energyJoules, event } : { deviceId, startMs, endMs, energyJoules, event };
  return c;
}
