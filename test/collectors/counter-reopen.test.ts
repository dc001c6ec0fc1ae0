import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { probeAmdGpu } from '../../collectors/amdgpu.js';
import { PATH_CHECK_INTERVAL_MS, PreadFile } from '../../collectors/lib/sysfs.js';
import { probeRapl } from '../../collectors/rapl.js';
import type { Collector } from '../../collectors/types.js';
import type { ReadResult } from '../../src/types.js';
import { buildTree, contextFor, removeTree, tempRoot } from '../helpers/sysfs-tree.js';

// A counter file replaced under a held descriptor (driver reload, hotplug; here: a new file renamed over it)
// must be reopened, and a removed one reported, never read stale in silence. The path is checked at most
// once per PATH_CHECK_INTERVAL_MS (5 s): a fake clock moves that interval on.

const roots: string[] = [];
afterEach(() => roots.splice(0).forEach(removeTree));

function fakeClock(): { nowMs: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return { nowMs: () => t, advance: (ms) => { t += ms; } };
}

function replace(path: string, content: string): void {
  writeFileSync(`${path}.new`, content);
  renameSync(`${path}.new`, path);
}

const raplTree = {
  'sys/class/powercap/intel-rapl:0/name': 'package-0',
  'sys/class/powercap/intel-rapl:0/energy_uj': '5000000000',
  'sys/class/powercap/intel-rapl:0/max_energy_range_uj': '262143328850',
  'sys/class/powercap/intel-rapl:0:0/name': 'dram',
  'sys/class/powercap/intel-rapl:0:0/energy_uj': '7000000',
};

const joules = (r: ReadResult, id: string) => r.readings.find((x) => x.deviceId === id)?.counterJoules;

describe('RAPL energy_uj replaced or removed mid-run', () => {
  it('reopens a file replaced by rename (within the path-check interval), continues from it, and counts the reopen', async () => {
    const root = buildTree(tempRoot(), raplTree);
    roots.push(root);
    const clock = fakeClock();
    const c: Collector = (await probeRapl(contextFor(root, { nowMs: clock.nowMs }))).collector!;
    const path = join(root, 'sys/class/powercap/intel-rapl:0/energy_uj');
    expect(joules(await c.read(), 'package-0')).toBe(5000);
    writeFileSync(path, '5002000000\n'); // the same file, updated in place: read through the same descriptor
    expect(joules(await c.read(), 'package-0')).toBe(5002);
    replace(path, '5005000000\n');
    clock.advance(PATH_CHECK_INTERVAL_MS);
    const after = await c.read();
    expect(joules(after, 'package-0')).toBe(5005);
    expect(after.recovered).toEqual([{ deviceId: 'package-0', reason: 'reopened', message: `${path} reopened: replaced by a new file` }]);
    expect(after.dropped).toBeUndefined();
    // From now on the new file is the one held: an in-place update is seen, and nothing more is counted.
    writeFileSync(path, '5009000000\n');
    const next = await c.read();
    expect([joules(next, 'package-0'), next.recovered]).toEqual([5009, undefined]);
    c.close();
  });

  it('drops the reading of a removed file with reason "lost", keeps the other zones, and recovers when it comes back', async () => {
    const root = buildTree(tempRoot(), raplTree);
    roots.push(root);
    const clock = fakeClock();
    const c = (await probeRapl(contextFor(root, { nowMs: clock.nowMs }))).collector!;
    const path = join(root, 'sys/class/powercap/intel-rapl:0/energy_uj');
    expect(joules(await c.read(), 'package-0')).toBe(5000);
    rmSync(path);
    clock.advance(PATH_CHECK_INTERVAL_MS);
    const gone = await c.read();
    expect(gone.readings.map((r) => r.deviceId)).toEqual(['dram-0']);
    expect(gone.dropped).toEqual([{ deviceId: 'package-0', reason: 'lost', message: `read ${path}: ${path} is gone (ENOENT)` }]);
    // Still gone at the next tick, without waiting for the once-a-second check: no stale descriptor is left.
    const still = await c.read();
    expect(still.dropped).toEqual([{ deviceId: 'package-0', reason: 'lost', message: expect.stringMatching(/ENOENT/) }]);
    writeFileSync(path, '5003000000\n');
    const back = await c.read();
    expect(joules(back, 'package-0')).toBe(5003);
    expect(back.recovered).toEqual([{ deviceId: 'package-0', reason: 'reopened', message: `${path} reopened: it is back` }]);
    c.close();
  });
});

describe('amdgpu energy1_input replaced mid-run', () => {
  it('reopens it and counts the reopen', async () => {
    const root = buildTree(tempRoot(), {
      'sys/class/drm/card0/device/vendor': '0x1002',
      'sys/class/drm/card0/device/product_name': 'AMD Instinct MI100',
      'sys/class/drm/card0/device/hwmon/hwmon3/name': 'amdgpu',
      'sys/class/drm/card0/device/hwmon/hwmon3/energy1_input': '1000000',
    });
    roots.push(root);
    const clock = fakeClock();
    const c = (await probeAmdGpu(contextFor(root, { nowMs: clock.nowMs }))).collector!;
    const path = join(root, 'sys/class/drm/card0/device/hwmon/hwmon3/energy1_input');
    expect(joules(await c.read(), 'amdgpu0')).toBe(1);
    replace(path, '4000000\n');
    clock.advance(PATH_CHECK_INTERVAL_MS + 500);
    const after = await c.read();
    expect([joules(after, 'amdgpu0'), after.recovered]).toEqual([4, [{ deviceId: 'amdgpu0', reason: 'reopened', message: `${path} reopened: replaced by a new file` }]]);
    c.close();
  });
});

describe('PreadFile', () => {
  it('checks the path at most once per interval: no stat, no open per tick in between', () => {
    const root = tempRoot();
    roots.push(root);
    const path = join(root, 'counter');
    writeFileSync(path, '1\n');
    const clock = fakeClock();
    const f = new PreadFile(path, { nowMs: clock.nowMs });
    replace(path, '2\n');
    clock.advance(PATH_CHECK_INTERVAL_MS - 1);
    expect(f.readInt()).toBe(1); // inside the interval: the held descriptor, by design (one pread per tick)
    clock.advance(1);
    expect(f.readInt()).toBe(2);
    expect(f.takeReopened()).toBe(`${path} reopened: replaced by a new file`);
    expect(f.takeReopened()).toBeUndefined();
    f.close();
    expect(() => f.readInt()).toThrow(/file closed/);
  });
});
