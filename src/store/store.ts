import Database from 'better-sqlite3';
import type { DeviceInfo } from '../types.js';
import type { MarketInstruments } from '../carbon/carbon.js';
import type { IntensityCache } from '../intensity/cache.js';
import type { MinuteEnergy } from '../ledger/accounting.js';
import type { Restatement } from '../sources/restate.js';
import { createIntensityCache } from './intensity-cache.js';
import { gapsOf, minutesOf, periodsOf, powerSeries, samplePowerSeries, storedTickState, type GapRow } from './queries.js';
import { latestRestatement, saveRestatement } from './restatements.js';
import { migrate } from './schema.js';
import type { PhaseRecord } from '../ledger/phases.js';
import type { DeviceRow, NewRun, PeriodWrite, RunRow, TickWrite } from './rows.js';
import { toDeviceRow, toPhaseRecord, toRunRow } from './rows.js';
import { decodeTickState, encodeSamples, TickStateWriter, type MinuteRow } from './tick-state.js';

/** StoreError is a database problem a user can fix; its message is one line with the fix. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
}

/**
 * Store is wattprint's SQLite database (better-sqlite3, WAL). Each tick is committed in one transaction
 * together with the counter state, so a kill -9 loses at most the tick in flight and never double counts.
 */
export class Store {
  private readonly stmts;
  private readonly tickTx: (tick: TickWrite, plan: TickPlan, state: TickStateWriter, samples: PendingSamples) => void;
  private readonly ticksTx: (ticks: readonly TickCommit[]) => void;
  /** Per run: the open minutes and period, and the buffer its tick state is encoded in. */
  private readonly tickStates = new Map<number, TickStateWriter>();
  /** Per run: raw samples of the last ticks, written SAMPLE_BATCH_TICKS at a time. */
  private readonly pendingSamples = new Map<number, PendingSamples>();

  private constructor(readonly db: Database.Database, readonly path: string) {
    this.stmts = prepare(db);
    this.tickTx = db.transaction((t: TickWrite, plan: TickPlan, state: TickStateWriter, samples: PendingSamples) => writeTick(this.stmts, t, plan, state, samples));
    this.ticksTx = db.transaction((ts: readonly TickCommit[]) => { for (const c of ts) writeTick(this.stmts, c.tick, c.plan!, c.state, c.samples); });
  }

  /** read runs fn in one read transaction, so a tick committed meanwhile by a live agent cannot split what it reads. */
  read<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** periodsOf returns a run's accounting periods in time order. */
  periodsOf(runKey: number): PeriodWrite[] {
    return periodsOf(this.db, runKey);
  }

  /** gapsOf returns a run's gaps and recoveries. */
  gapsOf(runKey: number): GapRow[] {
    return gapsOf(this.db, runKey);
  }

  /** minutesOf returns a run's IT energy per UTC minute (all devices), joules. */
  minutesOf(runKey: number): MinuteEnergy[] {
    return minutesOf(this.db, runKey);
  }

  /** powerSeries returns total IT power (watts) averaged over buckets of bucketMinutes. */
  powerSeries(runKey: number, bucketMinutes: number): { startMs: number; watts: number }[] {
    return powerSeries(this.db, runKey, bucketMinutes);
  }

  /** samplePowerSeries returns total IT power per tick from the raw samples still kept. */
  samplePowerSeries(runKey: number): { startMs: number; watts: number }[] {
    return samplePowerSeries(this.db, runKey);
  }

  /** phasesOf returns a run's phases in start order. */
  phasesOf(runKey: number): PhaseRecord[] {
    return this.stmts.phasesOf.all(runKey).map(toPhaseRecord);
  }

  /** saveRestatement stores a restatement; the tracked rows are never changed, so both are kept. */
  saveRestatement(runKey: number, r: Restatement): void {
    saveRestatement(this.db, runKey, r);
  }

  /** latestRestatement returns a run's most recent restatement, if any. */
  latestRestatement(runKey: number): Restatement | undefined {
    return latestRestatement(this.db, runKey);
  }

  /** intensityCache caches fetched grid intensities in this database. */
  intensityCache(): IntensityCache {
    return createIntensityCache(this.db);
  }

  /** open opens (creating if needed) the database at path and migrates it. */
  static open(path: string, options: { readonly?: boolean } = {}): Store {
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    } catch (cause) {
      throw new StoreError(`cannot open database ${path}: ${(cause as Error).message}; pass --db with a writable path`, { cause });
    }
    try {
      if (!options.readonly) {
        db.pragma('journal_mode = WAL');
        // NORMAL in WAL mode survives process crashes (kill -9); only an OS crash can lose the last commits.
        db.pragma('synchronous = NORMAL');
        db.pragma('busy_timeout = 5000');
        // The WAL is checkpointed into the database every 256 pages (1 MiB) instead of 1,000, and cut back to
        // 1 MiB when it restarts: a long-running agent's -wal file stays small (checkpointWal truncates it).
        db.pragma('wal_autocheckpoint = 256');
        db.pragma(`journal_size_limit = ${1024 * 1024}`);
        migrate(db);
      }
      return new Store(db, path);
    } catch (cause) {
      db.close();
      const message = (cause as Error).message;
      throw new StoreError(`cannot use database ${path}: ${message}; pass --db with a writable wattprint database`, { cause });
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** createRun inserts a new run and returns it. */
  createRun(run: NewRun): RunRow {
    this.stmts.insertRun.run({
      run_id: run.runId, hostname: run.hostname, started_at_ms: run.startedAtMs, last_tick_ms: run.startedAtMs,
      pue: run.pue, pue_source: run.pueSource, zone: run.zone ?? null, intensity_source: run.intensitySource,
      market_json: JSON.stringify(run.market), labels_json: JSON.stringify(run.labels), command: run.command ?? null,
    });
    return this.findRun(run.runId)!;
  }

  /** findRun returns the run with this id, if stored. */
  findRun(runId: string): RunRow | undefined {
    const row = this.stmts.findRun.get(runId);
    return row ? toRunRow(row) : undefined;
  }

  /** latestRun returns the most recently started run. */
  latestRun(): RunRow | undefined {
    const row = this.stmts.latestRun.get();
    return row ? toRunRow(row) : undefined;
  }

  /** listRuns returns all runs, newest first. */
  listRuns(): RunRow[] {
    return this.stmts.listRuns.all().map(toRunRow);
  }

  /** addGap records a gap outside a tick (a device silent until the run's end). */
  addGap(devKey: number, startMs: number, endMs: number, reason: string): void {
    this.stmts.addGap.run(devKey, startMs, endMs, reason, null);
  }

  /** saveProgress records the job's progress (0..1) for projections in reports. */
  saveProgress(runKey: number, progress: { fraction: number; source: string }): void {
    this.db.prepare('UPDATE runs SET progress_json = ? WHERE run_key = ?').run(JSON.stringify(progress), runKey);
  }

  /** claimRun records which process tracks a run now. */
  claimRun(runKey: number, ownerHost: string, ownerPid: number): void {
    this.db.prepare('UPDATE runs SET owner_host = ?, owner_pid = ? WHERE run_key = ?').run(ownerHost, ownerPid, runKey);
  }

  /**
   * reopenRun marks a stored run as running again (resume) with the settings in force now. Each device's
   * totals move from the last tick's state into its row first: a device this session does not track keeps them.
   */
  reopenRun(runKey: number, settings: { pue: number; pueSource: string; zone?: string; intensitySource: string; market: MarketInstruments; labels: Record<string, string> }): void {
    this.flushSamplesIfPossible(runKey);
    this.db.transaction(() => {
      this.persistDeviceTotals(runKey);
      this.stmts.reopenRun.run({
        run_key: runKey, pue: settings.pue, pue_source: settings.pueSource, zone: settings.zone ?? null, intensity_source: settings.intensitySource,
        market_json: JSON.stringify(settings.market), labels_json: JSON.stringify(settings.labels),
      });
    })();
    this.samplesWritten(runKey);
  }

  /** facilityJoulesOf is a run's facility energy as accounted period by period (the open period included). */
  facilityJoulesOf(runKey: number): number {
    const stored = (this.db.prepare('SELECT COALESCE(SUM(facility_joules), 0) AS j FROM energy_period WHERE run_key = ?').get(runKey) as { j: number }).j;
    return stored + (storedTickState(this.db, runKey)?.period?.facilityJoules ?? 0);
  }

  /**
   * persistDeviceTotals moves the last tick's state into the devices' rows and its open minutes into
   * energy_minute, then clears it: at run end, and on reopen (a session that died left its open minutes there).
   */
  private persistDeviceTotals(runKey: number): void {
    const devices = this.devicesOf(runKey);
    for (const d of devices) {
      this.stmts.saveDevice.run({
        dev_key: d.devKey, energy_joules: d.energyJoules, node_energy_joules: d.nodeEnergyJoules ?? null, samples: d.samples, counter_joules: d.counterJoules ?? null,
        counter_epoch: d.counterEpoch ?? null, power_watts: d.powerWatts ?? null, state_wall_ms: d.stateWallMs ?? null,
      });
    }
    const stored = storedTickState(this.db, runKey);
    for (const [devKey, state] of stored?.devices ?? []) {
      if (state.open) this.stmts.addMinuteRow.run(devKey, state.open.minute, state.open.joules, state.open.samples);
    }
    if (stored?.period) addPeriodRow(this.stmts, runKey, stored.period);
    this.tickStates.get(runKey)?.forget();
    this.stmts.clearRunState.run(runKey);
  }

  /**
   * flushSamplesIfPossible writes the raw samples held in memory in a transaction of their own, before the one
   * that closes or reopens the run: a database that refuses them (full) must not keep a run from closing over
   * its chart data, which is then dropped. (Not a savepoint: SQLite may roll back a whole transaction on SQLITE_FULL.)
   */
  private flushSamplesIfPossible(runKey: number): void {
    if (!this.pendingSamples.get(runKey)?.rows.length) return;
    try {
      this.flushSamples(runKey);
    } catch {
      this.pendingSamples.delete(runKey);
    }
  }

  private writeSamples(runKey: number): void {
    const pending = this.pendingSamples.get(runKey);
    if (pending) writePendingSamples(this.stmts, runKey, pending);
  }

  /** samplesWritten forgets the raw samples a finished transaction wrote. */
  private samplesWritten(runKey: number): void {
    const pending = this.pendingSamples.get(runKey);
    if (!pending) return;
    pending.rows.splice(0, pending.written);
    pending.written = 0;
  }

  /** upsertDevice registers a device of a run (keeping its energy on resume) and returns its row. */
  upsertDevice(runKey: number, info: DeviceInfo): DeviceRow {
    this.stmts.upsertDevice.run({
      run_key: runKey, device_id: info.id, kind: info.kind, name: info.name, uuid: info.uuid ?? null,
      method: info.method, collector: info.collector, power_limit_watts: info.powerLimitWatts ?? null,
      notes_json: JSON.stringify(info.notes ?? []),
    });
    return withState(toDeviceRow(this.stmts.findDevice.get(runKey, info.id)), this.runState(runKey));
  }

  /** devicesOf lists the devices of a run, with their totals and state as of the last committed tick. */
  devicesOf(runKey: number): DeviceRow[] {
    const state = this.runState(runKey);
    return this.stmts.devicesOf.all(runKey).map((raw) => withState(toDeviceRow(raw), state));
  }

  private runState(runKey: number): Record<string, DeviceStateJson> {
    const row = this.stmts.runState.get(runKey) as { state_json: string; state_blob: unknown } | undefined;
    if (!row) return {};
    const states = decodeTickState(row.state_blob);
    if (!states) return JSON.parse(row.state_json);
    const out: Record<string, DeviceStateJson> = {};
    for (const [devKey, d] of states.devices) {
      out[devKey] = [d.energyJoules, d.samples, d.counterJoules ?? null, d.counterEpoch ?? null, d.powerWatts ?? null, d.stateWallMs ?? null, d.nodeEnergyJoules ?? null];
    }
    return out;
  }

  /** commitTick writes one tick — energy buckets, period sums, device state, totals — atomically. */
  commitTick(tick: TickWrite): void {
    const c = this.tickCommit(tick);
    try {
      const plan = planTick(tick, c.state, c.samples);
      // A tick that only moves the state (no minute or period left behind, no samples due) is one UPDATE:
      // SQLite makes it a transaction of its own, without BEGIN and COMMIT statements around it.
      if (onlyState(tick, plan)) saveState(this.stmts, tick, c.state);
      else this.tickTx(tick, plan, c.state, c.samples);
      c.state.commit();
      this.samplesWritten(tick.runKey);
    } catch (err) {
      this.undoTick(c);
      throw err;
    }
  }

  /** tickCommit gathers a run's tick state and held samples for a commit (created on the run's first tick). */
  private tickCommit(tick: TickWrite): TickCommit {
    let state = this.tickStates.get(tick.runKey);
    if (!state) this.tickStates.set(tick.runKey, (state = new TickStateWriter()));
    let samples = this.pendingSamples.get(tick.runKey);
    if (!samples) this.pendingSamples.set(tick.runKey, (samples = { rows: [], written: 0 }));
    return { tick, state, samples, heldSamples: samples.rows.length };
  }

  /** undoTick puts a run's open minutes, period and held samples back as they were before a failed commit. */
  private undoTick(c: TickCommit): void {
    c.state.rollback();
    c.samples.rows.length = c.heldSamples;
    c.samples.written = 0;
  }

  /**
   * checkpointWal copies the WAL into the database and truncates it, if no reader is in the way (it never
   * waits for one: a tick must not stall behind a long report); true when it did.
   */
  checkpointWal(): boolean {
    this.db.pragma('busy_timeout = 0');
    try {
      const [row] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      return row?.busy === 0;
    } catch {
      return false;
    } finally {
      this.db.pragma('busy_timeout = 5000');
    }
  }

  /**
   * commitTicks writes the ticks of several runs in one transaction: a node agent's tick and the accounts of the
   * jobs it charged from that tick's energy are stored together or not at all.
   */
  commitTicks(ticks: readonly TickWrite[]): void {
    const commits = ticks.map((t) => this.tickCommit(t));
    try {
      for (const c of commits) c.plan = planTick(c.tick, c.state, c.samples);
      this.ticksTx(commits);
      for (const c of commits) {
        c.state.commit();
        this.samplesWritten(c.tick.runKey);
      }
    } catch (err) {
      for (const c of commits) this.undoTick(c);
      throw err;
    }
  }

  /** pruneSamples drops raw samples older than beforeMs (raw samples are kept for a short window only). */
  pruneSamples(runKey: number, beforeMs: number): void {
    this.stmts.pruneSamples.run(runKey, beforeMs);
  }

  /** flushSamples writes the raw samples still held in memory (they go SAMPLE_BATCH_TICKS at a time). */
  flushSamples(runKey: number): void {
    this.db.transaction(() => this.writeSamples(runKey))();
    this.samplesWritten(runKey);
  }

  /** discardRun deletes a run that never started tracking (its server could not listen, say). */
  discardRun(runKey: number): void {
    // A later run may get this key again: nothing of this one may stay in memory.
    this.tickStates.delete(runKey);
    this.pendingSamples.delete(runKey);
    this.db.transaction(() => {
      for (const table of ['energy_minute', 'gaps']) {
        this.db.prepare(`DELETE FROM ${table} WHERE dev_key IN (SELECT dev_key FROM devices WHERE run_key = ?)`).run(runKey);
      }
      for (const table of ['energy_period', 'samples', 'restatements', 'phases', 'devices', 'runs']) this.db.prepare(`DELETE FROM ${table} WHERE run_key = ?`).run(runKey);
    })();
  }

  /** endRun closes a run and copies each device's final totals into its row. */
  endRun(runKey: number, endedAtMs: number, exitCode?: number): void {
    this.flushSamplesIfPossible(runKey);
    this.db.transaction(() => {
      this.persistDeviceTotals(runKey);
      this.stmts.endRun.run(endedAtMs, exitCode ?? null, runKey);
    })();
    this.samplesWritten(runKey);
  }
}

function prepare(db: Database.Database) {
  return {
    insertRun: db.prepare(`INSERT INTO runs (run_id, hostname, started_at_ms, last_tick_ms, pue, pue_source, zone, intensity_source, market_json, labels_json, command)
      VALUES (@run_id, @hostname, @started_at_ms, @last_tick_ms, @pue, @pue_source, @zone, @intensity_source, @market_json, @labels_json, @command)`),
    findRun: db.prepare('SELECT * FROM runs WHERE run_id = ?'),
    latestRun: db.prepare('SELECT * FROM runs ORDER BY started_at_ms DESC, run_key DESC LIMIT 1'),
    listRuns: db.prepare('SELECT * FROM runs ORDER BY started_at_ms DESC, run_key DESC'),
    reopenRun: db.prepare(`UPDATE runs SET status = 'running', ended_at_ms = NULL, pue = @pue, pue_source = @pue_source, zone = @zone,
      intensity_source = @intensity_source, market_json = @market_json, labels_json = @labels_json WHERE run_key = @run_key`),
    upsertDevice: db.prepare(`INSERT INTO devices (run_key, device_id, kind, name, uuid, method, collector, power_limit_watts, notes_json)
      VALUES (@run_key, @device_id, @kind, @name, @uuid, @method, @collector, @power_limit_watts, @notes_json)
      ON CONFLICT (run_key, device_id) DO UPDATE SET name = excluded.name, uuid = excluded.uuid, method = excluded.method,
        collector = excluded.collector, power_limit_watts = excluded.power_limit_watts, notes_json = excluded.notes_json`),
    findDevice: db.prepare('SELECT * FROM devices WHERE run_key = ? AND device_id = ?'),
    devicesOf: db.prepare('SELECT * FROM devices WHERE run_key = ? ORDER BY dev_key'),
    addMinuteRow: db.prepare(`INSERT INTO energy_minute (dev_key, minute, joules, samples) VALUES (?, ?, ?, ?)
      ON CONFLICT (dev_key, minute) DO UPDATE SET joules = joules + excluded.joules, samples = samples + excluded.samples`),
    addPeriod: db.prepare(`INSERT INTO energy_period (run_key, period_start_ms, period_seconds, it_joules, facility_joules, intensity_g_per_kwh, cfe, co2e_location_g, co2e_market_g, source, quality)
      VALUES (@run_key, @period_start_ms, @period_seconds, @it_joules, @facility_joules, @intensity, @cfe, @loc, @mkt, @source, @quality)
      ON CONFLICT (run_key, period_start_ms) DO UPDATE SET it_joules = it_joules + excluded.it_joules,
        facility_joules = facility_joules + excluded.facility_joules, co2e_location_g = co2e_location_g + excluded.co2e_location_g,
        co2e_market_g = co2e_market_g + excluded.co2e_market_g,
        -- A period whose intensity changed while it ran (an API answering after the fallback was used, a forecast
        -- replaced by an actual) shows the energy-weighted intensity of what was accounted, and every source used.
        intensity_g_per_kwh = CASE WHEN facility_joules + excluded.facility_joules > 0
          THEN (co2e_location_g + excluded.co2e_location_g) * 3600000.0 / (facility_joules + excluded.facility_joules)
          ELSE excluded.intensity_g_per_kwh END,
        cfe = excluded.cfe,
        source = CASE WHEN instr(source, excluded.source) > 0 THEN source ELSE source || '; ' || excluded.source END,
        quality = CASE WHEN quality = excluded.quality THEN quality ELSE 'mixed' END,
        period_seconds = excluded.period_seconds`),
    saveDevice: db.prepare(`UPDATE devices SET energy_joules = @energy_joules, node_energy_joules = @node_energy_joules, samples = @samples, counter_joules = @counter_joules,
      counter_epoch = @counter_epoch, power_watts = @power_watts, state_wall_ms = @state_wall_ms WHERE dev_key = @dev_key`),
    addSample: db.prepare('INSERT OR REPLACE INTO samples (run_key, t_ms, data) VALUES (?, ?, ?)'),
    runState: db.prepare('SELECT state_json, state_blob FROM runs WHERE run_key = ?'),
    clearRunState: db.prepare(`UPDATE runs SET state_json = '{}', state_blob = NULL WHERE run_key = ?`),
    addGap: db.prepare('INSERT INTO gaps (dev_key, start_ms, end_ms, reason, recovered_joules) VALUES (?, ?, ?, ?, ?)'),
    saveRun: db.prepare('UPDATE runs SET last_tick_ms = ?, co2e_location_g = ?, co2e_market_g = ?, state_blob = ? WHERE run_key = ?'),
    pruneSamples: db.prepare('DELETE FROM samples WHERE run_key = ? AND t_ms < ?'),
    endRun: db.prepare(`UPDATE runs SET status = 'ended', ended_at_ms = ?, exit_code = ? WHERE run_key = ?`),
    phasesOf: db.prepare('SELECT * FROM phases WHERE run_key = ? ORDER BY started_at_ms, phase_id'),
    savePhase: db.prepare(`INSERT INTO phases (run_key, phase_id, name, started_at_ms, ended_at_ms, it_joules, facility_joules, co2e_location_g, co2e_market_g, work_start_json, work_end_json)
      VALUES (@run_key, @phase_id, @name, @started_at_ms, @ended_at_ms, @it_joules, @facility_joules, @loc, @mkt, @work_start_json, @work_end_json)
      ON CONFLICT (run_key, phase_id) DO UPDATE SET name = excluded.name, started_at_ms = excluded.started_at_ms, ended_at_ms = excluded.ended_at_ms,
        it_joules = excluded.it_joules, facility_joules = excluded.facility_joules, co2e_location_g = excluded.co2e_location_g,
        co2e_market_g = excluded.co2e_market_g, work_start_json = excluded.work_start_json, work_end_json = excluded.work_end_json`),
    saveWork: db.prepare('UPDATE runs SET work_json = ? WHERE run_key = ?'),
    saveAttribution: db.prepare('UPDATE runs SET attribution_json = ? WHERE run_key = ?'),
    saveDropped: db.prepare('UPDATE runs SET dropped_json = ? WHERE run_key = ?'),
    saveProgress: db.prepare('UPDATE runs SET progress_json = ? WHERE run_key = ?'),
  };
}

/**
 * SAMPLE_BATCH_TICKS raw samples are written in one transaction: they only draw the chart of short runs, so
 * the ticks between two batches (at most this many, a kill -9 loses them) are not worth a page write each.
 * Energy never waits: it is in every tick's state.
 */
export const SAMPLE_BATCH_TICKS = 10;

/** PendingSamples are a run's raw samples not yet written; `written` of them went into the transaction in progress. */
interface PendingSamples {
  rows: { tMs: number; data: Buffer }[];
  written: number;
}

function writePendingSamples(stmts: ReturnType<typeof prepare>, runKey: number, pending: PendingSamples): void {
  for (const r of pending.rows) stmts.addSample.run(runKey, r.tMs, r.data);
  pending.written = pending.rows.length;
}

function addPeriodRow(stmts: ReturnType<typeof prepare>, runKey: number, p: PeriodWrite): void {
  stmts.addPeriod.run({
    run_key: runKey, period_start_ms: p.periodStartMs, period_seconds: p.periodSeconds, it_joules: p.itJoules,
    facility_joules: p.facilityJoules, intensity: p.intensityGramsPerKwh, cfe: p.cfe ?? null,
    loc: p.co2eLocationGrams, mkt: p.co2eMarketGrams, source: p.source, quality: p.quality,
  });
}

/** TickCommit is one run's part of a commit: its tick, tick state, held samples (and how many were held before). */
interface TickCommit {
  tick: TickWrite;
  state: TickStateWriter;
  samples: PendingSamples;
  heldSamples: number;
  plan?: TickPlan;
}

/** TickPlan is what a tick writes besides its state: minutes and periods its energy has left, samples due. */
interface TickPlan {
  minutes: MinuteRow[];
  periods: PeriodWrite[];
  samplesDue: boolean;
}

/**
 * planTick adds a tick's energy to the open minutes and period (state, in memory until the commit) and lists
 * the rows that the energy has left; the raw samples join the batch.
 */
function planTick(t: TickWrite, state: TickStateWriter, samples: PendingSamples): TickPlan {
  const minutes: MinuteRow[] = [];
  for (const m of t.minutes) {
    const closed = state.addMinute(m.devKey, m.minute, m.energyJoules);
    if (closed) minutes.push(closed);
  }
  const periods: PeriodWrite[] = [];
  for (const p of t.periods) {
    const closed = state.addPeriod(p);
    if (closed) periods.push(closed);
  }
  minutes.push(...state.closeMissing(t.devices));
  if (t.samples?.length) samples.rows.push({ tMs: t.wallMs, data: encodeSamples(t.samples) });
  return { minutes, periods, samplesDue: samples.rows.length >= SAMPLE_BATCH_TICKS };
}

/** onlyState: nothing but the tick state to write (most ticks): one statement, which SQLite commits by itself. */
function onlyState(t: TickWrite, plan: TickPlan): boolean {
  return plan.minutes.length === 0 && plan.periods.length === 0 && !plan.samplesDue && !t.gaps?.length && !t.phases?.length &&
    !t.work && !t.attribution && !t.dropped && !t.progress;
}

function saveState(stmts: ReturnType<typeof prepare>, t: TickWrite, state: TickStateWriter): void {
  // Device totals, integrator state, open minutes and period travel as one binary value per tick (tick-state.ts).
  stmts.saveRun.run(t.wallMs, t.co2eLocationGrams, t.co2eMarketGrams, state.encode(t.devices), t.runKey);
}

function writeTick(stmts: ReturnType<typeof prepare>, t: TickWrite, plan: TickPlan, state: TickStateWriter, samples: PendingSamples): void {
  for (const p of plan.periods) addPeriodRow(stmts, t.runKey, p);
  if (plan.samplesDue) writePendingSamples(stmts, t.runKey, samples);
  for (const g of t.gaps ?? []) stmts.addGap.run(g.devKey, g.startMs, g.endMs, g.reason, g.recoveredJoules ?? null);
  for (const p of t.phases ?? []) {
    stmts.savePhase.run({
      run_key: t.runKey, phase_id: p.id, name: p.name, started_at_ms: p.startMs, ended_at_ms: p.endMs ?? null, it_joules: p.itJoules,
      facility_joules: p.facilityJoules, loc: p.co2eLocationGrams, mkt: p.co2eMarketGrams, work_start_json: JSON.stringify(p.workAtStart),
      work_end_json: p.workAtEnd ? JSON.stringify(p.workAtEnd) : null,
    });
  }
  if (t.work) stmts.saveWork.run(JSON.stringify(t.work), t.runKey);
  if (t.attribution) stmts.saveAttribution.run(JSON.stringify(t.attribution), t.runKey);
  if (t.dropped) stmts.saveDropped.run(JSON.stringify(t.dropped), t.runKey);
  if (t.progress) stmts.saveProgress.run(JSON.stringify(t.progress), t.runKey);
  saveState(stmts, t, state);
  for (const r of plan.minutes) stmts.addMinuteRow.run(r.devKey, r.minute, r.joules, r.samples);
}


/** DeviceStateJson is one device's entry in runs.state_json (runs before schema v6) and as decoded from state_blob. */
type DeviceStateJson = [number, number, number | null, string | null, number | null, number | null, (number | null)?];

function withState(row: DeviceRow, state: Record<string, DeviceStateJson>): DeviceRow {
  const s = state[row.devKey];
  if (!s) return row;
  return {
    ...row, energyJoules: s[0], samples: s[1], counterJoules: s[2] ?? undefined, counterEpoch: s[3] ?? undefined,
    ...(s[6] !== undefined && s[6] !== null ? { nodeEnergyJoules: s[6] } : {}),
    powerWatts: s[4] ?? undefined, stateWallMs: s[5] ?? undefined,
  };
}
