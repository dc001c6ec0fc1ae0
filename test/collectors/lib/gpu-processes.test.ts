/** nvidia-smi's --query-compute-apps: the parser on real captures, and the background query against the fake. */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupByDevice, parseComputeApps, SmiComputeApps } from '../../../collectors/lib/gpu-processes.js';
import type { DeviceInfo } from '../../../src/types.js';

const FAKE = fileURLToPath(new URL('../../fixtures/nvidia-smi/fake-nvidia-smi.mjs', import.meta.url));
const shared = fileURLToPath(new URL('../../../../shared/fixtures/nvidia-smi/csv/', import.meta.url));
const describeShared = existsSync(shared) || process.env.CI === 'true' ? describe : describe.skip;
const MIB = 1024 * 1024;
const gpu = (id: string, uuid: string): DeviceInfo => ({ id, kind: 'gpu', name: 'NVIDIA H100 80GB HBM3', uuid, method: 'sampled', collector: 'nvidia-smi' });

let dir: string;
beforeAll(() => {
  chmodSync(FAKE, 0o755);
  dir = mkdtempSync(join(tmpdir(), 'wattprint-apps-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeShared('parseComputeApps on real captures (with header and units)', () => {
  it('H100 under load: gpu_burn and two memhogs', () => {
    const apps = parseComputeApps(readFileSync(join(shared, 'h100-80gb-hbm3__590.48.01__load__query-compute-apps.csv'), 'utf8'));
    const uuid = 'GPU-00000000-0000-0000-0000-000000000000';
    expect(apps).toEqual([
      { pid: 11327, gpuUuid: uuid, usedMemoryBytes: 2566 * MIB },
      { pid: 11328, gpuUuid: uuid, usedMemoryBytes: 1542 * MIB },
      { pid: 11345, gpuUuid: uuid, usedMemoryBytes: 15690 * MIB },
    ]);
    // nvidia-smi gives no SM time per process: the split is by memory held.
    const snapshot = groupByDevice(apps, [gpu('gpu0', uuid)]).get('gpu0')!;
    expect(snapshot).toMatchObject({ mig: false, smSamples: false });
    expect(snapshot.processes.map((p) => p.usedMemoryBytes)).toEqual([2566 * MIB, 1542 * MIB, 15690 * MIB]);
  });

  it('H100 with MIG enabled: rows on the physical GPU\'s UUID', () => {
    const apps = parseComputeApps(readFileSync(join(shared, 'h100-mig__590.48.01__load__query-compute-apps.csv'), 'utf8'));
    expect(apps.map((a) => a.pid)).toEqual([21180, 21181, 21198]);
  });
});

describe('parseComputeApps (noheader, nounits)', () => {
  it('reads pid, MiB and UUID; [N/A] memory (WDDM) is left out; junk lines are skipped', () => {
    expect(parseComputeApps('4242, 2566, GPU-a\n4343, [N/A], GPU-b\nnot, a, row\n7, 1\n')).toEqual([
      { pid: 4242, gpuUuid: 'GPU-a', usedMemoryBytes: 2566 * MIB },
      { pid: 4343, gpuUuid: 'GPU-b' },
    ]);
    expect(parseComputeApps('')).toEqual([]);
  });
});

describe('SmiComputeApps against the fake nvidia-smi', () => {
  it('runs the query in the background and maps rows to devices by UUID; GPUs with no row get an empty list', async () => {
    const apps = [[{ pid: 11, used_memory: 3000, gpu_uuid: 'GPU-a' }, { pid: 12, used_memory: 1000, gpu_uuid: 'GPU-a' }, { pid: 13, used_memory: 5, gpu_uuid: 'GPU-zzz' }]];
    let now = 0;
    const source = new SmiComputeApps(FAKE, [gpu('gpu0', 'GPU-a'), gpu('gpu1', 'GPU-b')], {
      PATH: process.env.PATH, FAKE_SMI_APPS: JSON.stringify(apps), FAKE_SMI_STATE: join(dir, 'state'),
    }, { everySeconds: 5, nowSeconds: () => now });
    expect(source.read().size).toBe(0); // nothing yet: the first query has only started
    await source.refresh();
    const snapshot = source.read();
    expect(snapshot.get('gpu0')!.processes).toEqual([{ pid: 11, usedMemoryBytes: 3000 * MIB }, { pid: 12, usedMemoryBytes: 1000 * MIB }]);
    expect(snapshot.get('gpu1')!.processes).toEqual([]);
    expect(source.lastError).toBeUndefined();
    now = 1;
    source.read(); // not due: no new query
    expect(Number(readFileSync(join(dir, 'state.apps'), 'utf8'))).toBe(1);
    source.close();
  });

  it('a failing nvidia-smi leaves the last result and says why', async () => {
    const source = new SmiComputeApps('/nonexistent/nvidia-smi', [gpu('gpu0', 'GPU-a')], {}, { everySeconds: 5 });
    await source.refresh();
    expect(source.read().size).toBe(0);
    expect(source.lastError).toMatch(/^\/nonexistent\/nvidia-smi --query-compute-apps: .*ENOENT/);
    source.close();
  });
});
