import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAcceleratorType, probeTpu, tpuFactory } from '../../collectors/tpu.js';
import { startFakeMetadata, type FakeMetadata } from '../helpers/fake-metadata.js';
import { buildTree, contextFor, loadTreeSpec, removeTree, tempRoot, type TreeSpec } from '../helpers/sysfs-tree.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const v4Host = loadTreeSpec(join(fixtures, 'tpu/v4-8-host.json'));
const gceDmi = loadTreeSpec(join(fixtures, 'cloud/dmi-gce.json'));
const roots: string[] = [];
const servers: FakeMetadata[] = [];
function tree(spec: TreeSpec): string {
  const root = tempRoot();
  roots.push(root);
  return buildTree(root, spec);
}
async function fakeGce(acceleratorType: string): Promise<FakeMetadata> {
  const s = await startFakeMetadata({ gceInstance: { zone: 'projects/1/zones/us-east5-a', attributes: { 'accelerator-type': acceleratorType } } });
  servers.push(s);
  return s;
}
afterEach(async () => {
  roots.splice(0).forEach(removeTree);
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const PATTERSON = 'Patterson et al. 2021, Carbon Emissions and Large Neural Network Training, Table 3';
const NO_DUTY = 'no duty cycle is readable outside libtpu (tpu-info reads it from the running workload), so the full average is used';

describe('tpu collector', () => {
  it('registers as measure (real chips) for kind tpu', () => {
    expect(tpuFactory).toMatchObject({ name: 'tpu', role: 'measure', kinds: ['tpu'] });
  });

  it('counts TPU v4 chips by PCI id (ignoring gVNIC), models 170 W each, asks no metadata service', async () => {
    const server = await fakeGce('v5litepod-8');
    const probe = await probeTpu(contextFor(tree(v4Host), { metadataUrl: server.url }));
    expect(probe.found).toBe(true);
    expect(probe.details).toEqual({
      otherGooglePciDevices: '0000:00:08.0:0x0042',
      evidence: 'PCI vendor 0x1ae0: 4 v4 chip(s)',
      powerWattsPerChip: 170,
    });
    expect(probe.devices.map((d) => d.id)).toEqual(['tpu0', 'tpu1', 'tpu2', 'tpu3']);
    expect(probe.devices[0]).toEqual({
      id: 'tpu0',
      kind: 'tpu',
      name: 'Google Cloud TPU v4',
      method: 'modelled',
      collector: 'tpu',
      notes: ['modelled from published average power per chip: 170 W (Jouppi et al. 2023, TPU v4 (ISCA 2023), mean chip power)', NO_DUTY],
    });
    expect(probe.collector!.read()).toEqual({
      readings: ['tpu0', 'tpu1', 'tpu2', 'tpu3'].map((deviceId) => ({ deviceId, powerWatts: 170 })),
    });
    expect(server.connections).toBe(0);
  });

  it('v2/v3 expose two PCI functions per chip: 8 functions of v3 are 4 chips at 283 W', async () => {
    const spec: TreeSpec = {};
    for (let i = 0; i < 8; i++) {
      const d = `sys/bus/pci/devices/0000:00:0${i}.0`;
      Object.assign(spec, { [`${d}/vendor`]: '0x1ae0', [`${d}/device`]: '0x0027', [`${d}/subsystem_device`]: '0x004f' });
    }
    const probe = await probeTpu(contextFor(tree(spec)));
    expect(probe.devices).toHaveLength(4);
    expect(probe.devices[0]!.notes![0]).toBe(`modelled from published average power per chip: 283 W (${PATTERSON})`);
    expect((await probe.collector!.read()).readings[3]).toEqual({ deviceId: 'tpu3', powerWatts: 283 });
  });

  it('no TPU PCI device on a GCE host: accelerator-type from the metadata service (v5litepod-8 → 8 chips, stand-in power)', async () => {
    const server = await fakeGce('v5litepod-8');
    const probe = await probeTpu(contextFor(tree(gceDmi), { metadataUrl: server.url }));
    expect(probe.found).toBe(true);
    expect(probe.devices).toHaveLength(8);
    expect(probe.details).toEqual({
      acceleratorType: 'v5litepod-8',
      evidence: 'GCP metadata accelerator-type v5litepod-8: 8 chip(s) in the slice, 8 on this host',
      powerWattsPerChip: 283,
    });
    expect(probe.devices[0]!.notes![0]).toBe(
      `modelled from published average power per chip: 283 W (no published per-chip power; TPU v3's 283 W (${PATTERSON}) used as a stand-in)`,
    );
    expect(server.requests.map((r) => r.url)).toEqual(['/computeMetadata/v1/instance/?recursive=true']);
  });

  it('env TPU_ACCELERATOR_TYPE wins and needs no network: v4-32 is 16 chips, 4 on this host', async () => {
    const server = await fakeGce('v5litepod-8');
    const probe = await probeTpu(contextFor(tree(gceDmi), { metadataUrl: server.url, env: { TPU_ACCELERATOR_TYPE: 'v4-32' } }));
    expect(probe.devices.map((d) => d.id)).toEqual(['tpu0', 'tpu1', 'tpu2', 'tpu3']);
    expect(probe.details!.evidence).toBe('env TPU_ACCELERATOR_TYPE v4-32: 16 chip(s) in the slice, 4 on this host');
    expect(server.connections).toBe(0);
  });

  it('nothing found: says why, and makes no connection without GCE DMI evidence', async () => {
    const server = await fakeGce('v4-8');
    const root = tree({ 'sys/bus/pci/devices/0000:00:01.0/vendor': '0x8086' });
    const probe = await probeTpu(contextFor(root, { metadataUrl: server.url }));
    expect(probe).toEqual({
      found: false,
      devices: [],
      details: {},
      why: `no Google TPU (PCI vendor 0x1ae0) under ${join(root, 'sys/bus/pci/devices')} and no TPU accelerator type`,
    });
    expect(server.connections).toBe(0);
  });
});

describe('parseAcceleratorType', () => {
  it.each([
    ['v2-8', { generation: 'v2', sliceChips: 4, hostChips: 4 }],
    ['v3-32', { generation: 'v3', sliceChips: 16, hostChips: 4 }],
    ['v4-8', { generation: 'v4', sliceChips: 4, hostChips: 4 }],
    ['v5p-16', { generation: 'v5p', sliceChips: 8, hostChips: 4 }],
    ['v5litepod-4', { generation: 'v5e', sliceChips: 4, hostChips: 4 }],
    ['v5litepod-16', { generation: 'v5e', sliceChips: 16, hostChips: 8 }],
    ['v6e-1', { generation: 'v6e', sliceChips: 1, hostChips: 1 }],
  ])('%s', (type, expected) => {
    expect(parseAcceleratorType(type)).toEqual(expected);
  });

  it('rejects unknown types', () => {
    expect(parseAcceleratorType('nvidia-tesla-a100')).toBeUndefined();
    expect(parseAcceleratorType('v4')).toBeUndefined();
  });
});
