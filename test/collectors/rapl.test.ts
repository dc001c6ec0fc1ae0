import { execFileSync } from 'node:child_process';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { chooseRaplZones, probeRapl, raplFactory, type RaplZone } from '../../collectors/rapl.js';
import { buildTree, contextFor, loadTreeSpec, removeTree, tempRoot } from '../helpers/sysfs-tree.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const twoSocket = loadTreeSpec(join(repoRoot, 'test/fixtures/rapl/two-socket.json'));
const roots: string[] = [];
function tree(spec: Record<string, string | { content: string; mode: number }>): string {
  const root = tempRoot();
  roots.push(root);
  return buildTree(root, spec);
}
afterEach(() => roots.splice(0).forEach(removeTree));

const BOOT = '3e5a1f0c-7d2b-4c8e-9f10-2a3b4c5d6e7f';
const energyPath = (root: string, zone: string) => join(root, 'sys/class/powercap', zone, 'energy_uj');

describe('rapl collector', () => {
  it('registers as a measuring collector for cpu and dram', () => {
    expect(raplFactory).toMatchObject({ name: 'rapl', role: 'measure', kinds: ['cpu', 'dram'] });
  });

  it('tracks package + dram per socket, skips core/uncore and intel-rapl-mmio, reads µJ as J with range and boot id', async () => {
    const root = tree(twoSocket);
    const probe = await probeRapl(contextFor(root));
    expect(probe.found).toBe(true);
    expect(probe.devices.map((d) => [d.id, d.kind, d.method, d.name])).toEqual([
      ['package-0', 'cpu', 'counter', 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz (package 0)'],
      ['dram-0', 'dram', 'counter', 'DRAM (socket 0)'],
      ['package-1', 'cpu', 'counter', 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz (package 1)'],
      ['dram-1', 'dram', 'counter', 'DRAM (socket 1)'],
    ]);
    expect(probe.details).toEqual({
      zones: 'intel-rapl:0=package-0, intel-rapl:0:2=dram-0, intel-rapl:1=package-1, intel-rapl:1:0=dram-1',
      skipped: 'intel-rapl:0:0=core, intel-rapl:0:1=uncore (contained in the tracked zones)',
    });
    const collector = probe.collector!;
    expect(collector.read()).toEqual({
      readings: [
        { deviceId: 'package-0', counterJoules: 240422.366267, counterRangeJoules: 262143.32885, counterEpoch: BOOT },
        { deviceId: 'dram-0', counterJoules: 55, counterRangeJoules: 65712.999613, counterEpoch: BOOT },
        { deviceId: 'package-1', counterJoules: 12.5, counterRangeJoules: 262143.32885, counterEpoch: BOOT },
        { deviceId: 'dram-1', counterJoules: 7.25, counterRangeJoules: 65712.999613, counterEpoch: BOOT },
      ],
    });
    // The counter wrapped (raw value below the last one): the raw value is passed on, the integrator unwraps it.
    writeFileSync(energyPath(root, 'intel-rapl:0'), '1000000\n');
    expect((await collector.read()).readings[0]).toEqual({
      deviceId: 'package-0',
      counterJoules: 1,
      counterRangeJoules: 262143.32885,
      counterEpoch: BOOT,
    });
    collector.close();
  });

  it('keeps each energy_uj open: within the 5 s path check a replaced file is not re-opened (no open per tick)', async () => {
    const root = tree(twoSocket);
    // A clock that never moves: the path check never comes due (test/collectors/counter-reopen.test.ts has the reopen).
    const collector = (await probeRapl(contextFor(root, { nowMs: () => 0 }))).collector!;
    const path = energyPath(root, 'intel-rapl:1');
    writeFileSync(`${path}.new`, '99000000\n');
    renameSync(`${path}.new`, path);
    expect((await collector.read()).readings[2]!.counterJoules).toBe(12.5);
    collector.close();
  });

  it('uses psys alone when present (it covers the whole platform) and says so in the notes', async () => {
    const root = tree({
      'sys/class/powercap/intel-rapl:0/name': 'package-0',
      'sys/class/powercap/intel-rapl:0/energy_uj': '5000000',
      'sys/class/powercap/intel-rapl:0/max_energy_range_uj': '262143328850',
      'sys/class/powercap/intel-rapl:0:0/name': 'core',
      'sys/class/powercap/intel-rapl:0:0/energy_uj': '1000000',
      'sys/class/powercap/intel-rapl:1/name': 'psys',
      'sys/class/powercap/intel-rapl:1/energy_uj': '8500000',
      'sys/class/powercap/intel-rapl:1/max_energy_range_uj': '262143328850',
    });
    const probe = await probeRapl(contextFor(root));
    expect(probe.devices).toHaveLength(1);
    expect(probe.devices[0]).toMatchObject({ id: 'psys', kind: 'cpu', name: 'CPU (platform)', method: 'counter' });
    expect(probe.devices[0]!.notes![1]).toMatch(/^psys covers the whole SoC platform/);
    // No boot_id in this tree: the epoch is simply absent.
    expect(probe.collector!.read()).toEqual({
      readings: [{ deviceId: 'psys', counterJoules: 8.5, counterRangeJoules: 262143.32885, counterEpoch: undefined }],
    });
    probe.collector!.close();
  });

  it('drops malformed and negative values with a reason, keeps the other zones', async () => {
    const root = tree(twoSocket);
    const collector = (await probeRapl(contextFor(root))).collector!;
    writeFileSync(energyPath(root, 'intel-rapl:0'), 'garbage\n');
    writeFileSync(energyPath(root, 'intel-rapl:1'), '-5\n');
    const result = await collector.read();
    expect(result.readings.map((r) => r.deviceId)).toEqual(['dram-0', 'dram-1']);
    expect(result.dropped).toEqual([
      { deviceId: 'package-0', reason: 'malformed', message: `${energyPath(root, 'intel-rapl:0')} is not an integer` },
      { deviceId: 'package-1', reason: 'negative', message: `${energyPath(root, 'intel-rapl:1')} = -5` },
    ]);
    collector.close();
  });

  it('reports no zones quietly', async () => {
    const root = tree({ 'sys/class/powercap/.keep': '' });
    const probe = await probeRapl(contextFor(root));
    expect(probe).toEqual({
      found: false,
      devices: [],
      why: `no RAPL zones under ${join(root, 'sys/class/powercap')} (not a RAPL-capable CPU, or a VM that hides it)`,
    });
  });

  it('chooseRaplZones: a top-level dram zone is numbered by its own index', () => {
    const z = (dir: string, name: string, socket: number, sub = false): RaplZone => ({ dir, name, socket, sub });
    const picked = chooseRaplZones([z('intel-rapl:0', 'package-0', 0), z('intel-rapl:1', 'dram', 1)]);
    expect(picked.map((p) => [p.deviceId, p.kind])).toEqual([
      ['package-0', 'cpu'],
      ['dram-1', 'dram'],
    ]);
  });
});

describe('rapl permission denied (energy_uj mode 0400, read as a non-root user)', () => {
  const denied = {
    ...twoSocket,
    'sys/class/powercap/intel-rapl:0/energy_uj': { content: '240422366267', mode: 0o400 },
  };

  function expectDenied(probe: { found: boolean; why?: string; fix?: string }, root: string) {
    const file = energyPath(root, 'intel-rapl:0');
    expect(probe.found).toBe(false);
    expect(probe.why).toBe(`permission denied on ${file} (root-only since Linux 5.10, CVE-2020-8694)`);
    const dir = join(root, 'sys/class/powercap');
    expect(probe.fix).toContain(`sudo chgrp rapl ${dir}/intel-rapl:*/energy_uj && sudo chmod g+r ${dir}/intel-rapl:*/energy_uj`);
    expect(probe.fix).toContain(`ACTION=="add", SUBSYSTEM=="powercap", KERNEL=="intel-rapl:*", RUN+="/bin/chgrp rapl /sys%p/energy_uj"`);
  }

  const isRoot = process.getuid?.() === 0;
  const canDrop = isRoot && existsSync('/usr/bin/setpriv');

  it.skipIf(isRoot)('in process, as the non-root test user', async () => {
    const root = tree(denied);
    expectDenied(await probeRapl(contextFor(root)), root);
  });

  // As root the kernel ignores file modes, so the probe runs in a child as nobody (uid 65534) through setpriv,
  // on the same sources compiled to a temp dir with the repo's tsc.
  it.skipIf(!canDrop)('in a child process as nobody (test runs as root)', async () => {
    const root = tree(denied);
    const out = tempRoot('wattprint-tsc-');
    roots.push(out);
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '--outDir', out, '--rootDir', repoRoot, '--module', 'nodenext', '--moduleResolution', 'nodenext',
      '--target', 'es2022', '--skipLibCheck', '--types', 'node', join(repoRoot, 'collectors/rapl.ts')], { cwd: repoRoot });
    writeFileSync(join(out, 'package.json'), '{"type":"module"}');
    execFileSync('chmod', ['-R', 'a+rX', out]);
    const script = `import(${JSON.stringify(join(out, 'collectors/rapl.js'))}).then(async (m) => {
      const p = await m.probeRapl(${JSON.stringify(contextFor(root))});
      process.stdout.write(JSON.stringify({ found: p.found, why: p.why, fix: p.fix }));
    });`;
    const stdout = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expectDenied(JSON.parse(stdout), root);
  });
});
