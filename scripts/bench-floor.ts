import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { NvmlDevice } from '../collectors/nvml/ffi.js';

/**
 * The floor under a tick, as a process of its own (spawned by scripts/bench.ts, measured from /proc like an agent):
 *
 *   bench-floor.js io <gpus> <hz> <dir>   each tick: every GPU's energy counter and power through the same NVML
 *                                         bindings (koffi), every RAPL energy_uj through the same PreadFile, one
 *                                         SQLite UPDATE of a state blob of an agent's size (WAL, synchronous=NORMAL,
 *                                         as the store opens it) — the I/O a tick cannot do without, nothing else:
 *                                         no ledger, no server, no CLI
 *   bench-floor.js idle 0 <hz> <dir>      a Node process that wakes at the same rate and does nothing
 *
 * NVML_LIBRARY and SYSFS name the stub library and the fake tree (scripts/bench-fixture.ts). Prints "ready" once
 * the first tick is done; runs until killed.
 */
const [mode, gpusArg, hzArg, dir] = process.argv.slice(2);
if ((mode !== 'io' && mode !== 'idle') || !dir) {
  process.stderr.write('usage: bench-floor.js io|idle <gpus> <hz> <dir>\n');
  process.exit(2);
}
const periodMs = 1000 / Number(hzArg);
// The idle process loads nothing (its RSS is Node's own); the I/O one loads only what its tick calls.
const tick = mode === 'io' ? await ioTick(Number(gpusArg), mkdtempSync(join(dir, 'floor-'))) : () => undefined;

async function ioTick(gpus: number, dbDir: string): Promise<() => void> {
  const { default: Database } = await import('better-sqlite3');
  const { loadNvml } = await import('../collectors/nvml/ffi.js');
  const { PreadFile } = await import('../collectors/lib/sysfs.js');
  const { chooseRaplZones, listRaplZones } = await import('../collectors/rapl.js');
  const nvml = loadNvml(process.env.NVML_LIBRARY!);
  if (nvml.init() !== 0) throw new Error('nvmlInit failed');
  const devices: NvmlDevice[] = [];
  for (let i = 0; i < gpus; i++) {
    const h = nvml.handleByIndex(i);
    if (h.code !== 0) throw new Error(`no GPU ${i}`);
    devices.push(h.value!);
  }
  const powercap = join(process.env.SYSFS!, 'class', 'powercap');
  // The zones the RAPL collector reads on this tree, chosen by its own code.
  const rapl = chooseRaplZones(listRaplZones(powercap)).map((c) => new PreadFile(join(powercap, c.zone.dir, 'energy_uj')));
  const db = new Database(join(dbDir, 'floor.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE runs (run_key INTEGER PRIMARY KEY, last_tick_ms INTEGER, co2e_location_g REAL, co2e_market_g REAL, state_blob BLOB)');
  db.prepare('INSERT INTO runs VALUES (1, 0, 0, 0, NULL)').run();
  const update = db.prepare('UPDATE runs SET last_tick_ms = ?, co2e_location_g = ?, co2e_market_g = ?, state_blob = ? WHERE run_key = 1');
  // Eight float64 per device (energy, counter, power, time, samples...) and the open period: an agent's blob is about this size.
  const devicesCount = gpus + rapl.length;
  const state = new Float64Array(8 * devicesCount + 16);
  const blob = Buffer.from(state.buffer);
  const scratch = new Uint32Array(2);
  return () => {
    let j = 0;
    for (const d of devices) {
      nvml.totalEnergy(d, scratch);
      state[j++] = scratch[0]! + scratch[1]! * 2 ** 32;
      nvml.powerUsage(d, scratch);
      state[j++] = scratch[0]!;
    }
    for (const f of rapl) state[j++] = f.readInt();
    state[j] = Date.now();
    update.run(Date.now(), state[0], state[1], blob);
  };
}

tick();
process.stdout.write('ready\n');
let due = performance.now() + periodMs;
const loop = (): void => {
  tick();
  due += periodMs;
  setTimeout(loop, Math.max(0, due - performance.now()));
};
setTimeout(loop, periodMs);
