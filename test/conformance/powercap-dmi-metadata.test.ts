import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { describeShared, SHARED_FIXTURES } from '../helpers/shared-fixtures.js';
import { detectCloud, parseGceInstance } from '../../agent/cloud.js';
import { probeRapl } from '../../collectors/rapl.js';
import { startFakeMetadata, type FakeMetadata } from '../helpers/fake-metadata.js';
import { buildTree, contextFor, extractTtar, loadTreeSpec, removeTree, tempRoot } from '../helpers/sysfs-tree.js';

// Real captures live beside the repo (../shared/fixtures, see SOURCES.md there).
const shared = SHARED_FIXTURES;
const ownFixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const describeCaptures = describeShared('powercap');

const roots: string[] = [];
const servers: FakeMetadata[] = [];
function root(): string {
  const r = tempRoot();
  roots.push(r);
  return r;
}
async function fake(replies: Parameters<typeof startFakeMetadata>[0]): Promise<FakeMetadata> {
  const s = await startFakeMetadata(replies);
  servers.push(s);
  return s;
}
afterEach(async () => {
  roots.splice(0).forEach(removeTree);
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
const json = (rel: string) => JSON.parse(readFileSync(join(shared, rel), 'utf8')) as Record<string, unknown>;

describeCaptures('conformance: node_exporter powercap ttar (Intel RAPL)', () => {
  it('tracks package-0 only (core is inside it) with the captured energy and range', async () => {
    const r = root();
    const written = extractTtar(join(shared, 'powercap/node_exporter__sys-class-powercap.ttar'), r);
    expect(written).toContain('sys/class/powercap/intel-rapl:0:0/energy_uj');
    const probe = await probeRapl(contextFor(r));
    expect(probe.found).toBe(true);
    expect(probe.devices.map((d) => [d.id, d.kind, d.method])).toEqual([['package-0', 'cpu', 'counter']]);
    expect(probe.details).toEqual({
      zones: 'intel-rapl:0=package-0',
      skipped: 'intel-rapl:0:0=core (contained in the tracked zones)',
    });
    // energy_uj 240422366267 µJ, max_energy_range_uj 262143328850 µJ; no procfs in the capture → no epoch.
    expect(probe.collector!.read()).toEqual({
      readings: [{ deviceId: 'package-0', counterJoules: 240422.366267, counterRangeJoules: 262143.32885, counterEpoch: undefined }],
    });
    probe.collector!.close();
  });
});

describeCaptures('conformance: node_exporter DMI ttar (bare-metal Dell PowerEdge R6515)', () => {
  it('is no cloud, and no metadata connection is attempted', async () => {
    const r = root();
    extractTtar(join(shared, 'cloud-metadata/node_exporter__sys-class-dmi-id.ttar'), r);
    // The capture's product_version holds non-UTF-8 bytes; the extractor keeps them byte-exact.
    expect(readFileSync(join(r, 'sys/class/dmi/id/product_version'))).toEqual(Buffer.from([0xef, 0xbf, 0xbd, 0x1c, 0x5b, 0xef, 0xbf, 0xbd, 0x0a]));
    const server = await fake({ gceInstance: {}, azureInstance: {} });
    const info = await detectCloud({ sysfsRoot: join(r, 'sys'), metadataUrl: server.url, env: {} });
    expect(info).toEqual({ provider: 'none', evidence: 'no cloud DMI evidence (sys_vendor "Dell Inc.", product_name "PowerEdge R6515")' });
    expect(server.connections).toBe(0);
  });
});

describeCaptures('conformance: real metadata replies through the loopback fake', () => {
  it('GCE recursive JSON (DataDog capture): zone us-east1-b, n1-standard-1', async () => {
    const gce = json('cloud-metadata/datadog__gce_metadata_recursive.json');
    expect(parseGceInstance(gce)).toEqual({ zone: 'us-east1-b', region: 'us-east1', machineType: 'n1-standard-1' });
    const server = await fake({ gceInstance: gce.instance });
    const sysfsRoot = join(buildTree(root(), loadTreeSpec(join(ownFixtures, 'cloud/dmi-gce.json'))), 'sys');
    expect(await detectCloud({ sysfsRoot, metadataUrl: server.url, env: {} })).toEqual({
      provider: 'gcp',
      evidence: 'DMI product_name "Google Compute Engine"',
      zone: 'us-east1-b',
      region: 'us-east1',
      machineType: 'n1-standard-1',
      gridZone: 'US-CAR-SCEG',
      pue: { value: 1.11, source: 'Google per-campus PUE for us-east1 (google.com/about/datacenters/efficiency via mlco2/impact, c. 2020)' },
    });
  });

  it('Azure IMDS instance JSON (WALinuxAgent capture): westus, Standard_D2_V2, empty zone dropped', async () => {
    const server = await fake({ azureInstance: json('cloud-metadata/walinuxagent__azure_imds_instance.json') });
    const sysfsRoot = join(buildTree(root(), loadTreeSpec(join(ownFixtures, 'cloud/dmi-azure.json'))), 'sys');
    expect(await detectCloud({ sysfsRoot, metadataUrl: server.url, env: {} })).toEqual({
      provider: 'azure',
      evidence: 'DMI chassis_asset_tag 7783-7084-3265-9085-8269-3286-77',
      region: 'westus',
      machineType: 'Standard_D2_V2',
      gridZone: 'US-CAL-CISO',
      pue: { value: 1.18, source: 'Azure fleet design PUE FY2023 (Microsoft datacenter efficiency page); no per-region figure for westus' },
    });
  });
});
