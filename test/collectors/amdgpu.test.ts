import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { amdgpuFactory, probeAmdGpu } from '../../collectors/amdgpu.js';
import { buildTree, contextFor, loadTreeSpec, removeTree, tempRoot, type TreeSpec } from '../helpers/sysfs-tree.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const twoCards = loadTreeSpec(join(repoRoot, 'test/fixtures/amdgpu/mi100-rx6700xt.json'));
const roots: string[] = [];
function tree(spec: TreeSpec): string {
  const root = tempRoot();
  roots.push(root);
  return buildTree(root, spec);
}
afterEach(() => roots.splice(0).forEach(removeTree));

describe('amdgpu collector', () => {
  it('registers as a measuring gpu collector', () => {
    expect(amdgpuFactory).toMatchObject({ name: 'amdgpu', role: 'measure', kinds: ['gpu'] });
  });

  it('finds AMD cards only (vendor 0x1002), names them, reads power1_average µW as sampled watts', async () => {
    const root = tree(twoCards);
    const probe = await probeAmdGpu(contextFor(root));
    expect(probe.found).toBe(true);
    expect(probe.devices.map((d) => [d.id, d.name, d.kind, d.method, d.powerLimitWatts])).toEqual([
      ['amdgpu0', 'Instinct MI100', 'gpu', 'sampled', 290],
      ['amdgpu1', 'AMD GPU 0x73df (amdgpu)', 'gpu', 'sampled', 211],
    ]);
    const collector = probe.collector!;
    expect(collector.read()).toEqual({
      readings: [
        { deviceId: 'amdgpu0', powerWatts: 36 },
        { deviceId: 'amdgpu1', powerWatts: 6 },
      ],
    });
    // Same open descriptor sees the driver's next value.
    writeFileSync(join(root, 'sys/class/drm/card0/device/hwmon/hwmon3/power1_average'), '287500000\n');
    expect((await collector.read()).readings[0]).toEqual({ deviceId: 'amdgpu0', powerWatts: 287.5 });
    collector.close();
  });

  it('prefers the energy1_input counter (µJ → J, boot id epoch) over power files', async () => {
    const root = tree({
      ...twoCards,
      'sys/class/drm/card0/device/hwmon/hwmon3/energy1_input': '123456789',
    });
    const probe = await probeAmdGpu(contextFor(root));
    expect(probe.devices.map((d) => d.method)).toEqual(['counter', 'sampled']);
    expect(probe.collector!.read()).toEqual({
      readings: [
        { deviceId: 'amdgpu0', counterJoules: 123.456789, counterEpoch: '9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d' },
        { deviceId: 'amdgpu1', powerWatts: 6 },
      ],
    });
    probe.collector!.close();
  });

  it('falls back to power1_input when no average is exposed', async () => {
    const root = tree({
      'sys/class/drm/card0/device/vendor': '0x1002',
      'sys/class/drm/card0/device/device': '0x744c',
      'sys/class/drm/card0/device/hwmon/hwmon1/name': 'amdgpu',
      'sys/class/drm/card0/device/hwmon/hwmon1/power1_input': '98000000',
    });
    const probe = await probeAmdGpu(contextFor(root));
    expect(probe.devices[0]).toMatchObject({ id: 'amdgpu0', method: 'sampled', notes: [`hwmon ${join(root, 'sys/class/drm/card0/device/hwmon/hwmon1/power1_input')}`] });
    expect(probe.collector!.read()).toEqual({ readings: [{ deviceId: 'amdgpu0', powerWatts: 98 }] });
    probe.collector!.close();
  });

  it('drops absurd (> 2× cap), malformed and negative readings', async () => {
    const root = tree(twoCards);
    const collector = (await probeAmdGpu(contextFor(root))).collector!;
    const hw0 = join(root, 'sys/class/drm/card0/device/hwmon/hwmon3/power1_average');
    const hw1 = join(root, 'sys/class/drm/card1/device/hwmon/hwmon4/power1_average');
    writeFileSync(hw0, '600000000\n');
    writeFileSync(hw1, 'N/A\n');
    expect(await collector.read()).toEqual({
      readings: [],
      dropped: [
        { deviceId: 'amdgpu0', reason: 'absurd', message: '600 W > 2 × 290 W cap' },
        { deviceId: 'amdgpu1', reason: 'malformed', message: `${hw1} is not an integer` },
      ],
    });
    writeFileSync(hw1, '-1\n');
    expect((await collector.read()).dropped![1]).toEqual({ deviceId: 'amdgpu1', reason: 'negative', message: `${hw1} = -1` });
    collector.close();
  });

  it('reports no AMD GPU, and an AMD card without power files with the fix', async () => {
    const none = tree({ 'sys/class/drm/card0/device/vendor': '0x10de' });
    expect(await probeAmdGpu(contextFor(none))).toEqual({
      found: false,
      devices: [],
      why: `no AMD GPU (PCI vendor 0x1002) under ${join(none, 'sys/class/drm')}`,
      fix: undefined,
    });
    const bare = tree({ 'sys/class/drm/card0/device/vendor': '0x1002' });
    expect(await probeAmdGpu(contextFor(bare))).toEqual({
      found: false,
      devices: [],
      why: 'AMD GPU without power sensor: card0: no hwmon directory',
      fix: 'load the amdgpu kernel driver (modprobe amdgpu) so it exposes hwmon power files',
    });
  });
});

describe('amdgpu GPU selection', () => {
  it('tracks only the job\'s GPUs: ROCR_VISIBLE_DEVICES, HIP_VISIBLE_DEVICES, --gpus, by index or GPU-<unique_id>', async () => {
    const spec: TreeSpec = { ...twoCards, 'sys/class/drm/card1/device/unique_id': '0x5f4a3c2b1a09' };
    const root = tree(spec);
    const ids = async (overrides: Parameters<typeof contextFor>[1]) => (await probeAmdGpu(contextFor(root, overrides))).devices.map((d) => d.id);
    expect(await ids({})).toEqual(['amdgpu0', 'amdgpu1']);
    expect(await ids({ env: { ROCR_VISIBLE_DEVICES: '1' } })).toEqual(['amdgpu1']);
    expect(await ids({ env: { HIP_VISIBLE_DEVICES: '0' } })).toEqual(['amdgpu0']);
    expect(await ids({ gpus: ['GPU-5F4A3C2B1A09'] })).toEqual(['amdgpu1']);
    expect(await ids({ env: { ROCR_VISIBLE_DEVICES: '1' }, gpus: ['0'] })).toEqual(['amdgpu1']);
    const none = await probeAmdGpu(contextFor(root, { env: { ROCR_VISIBLE_DEVICES: '7' } }));
    expect(none).toMatchObject({ found: false, why: "the job's GPUs (7) match none of the 2 AMD GPUs" });
  });
});
