import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { detectCloud, providerFromDmi } from '../../agent/cloud.js';
import { gridZoneForRegion, pueFor, providerForRegion } from '../../src/carbon/cloud-tables.js';
import { startFakeMetadata, type FakeMetadata, type FakeMetadataReplies } from '../helpers/fake-metadata.js';
import { buildTree, loadTreeSpec, removeTree, tempRoot, type TreeSpec } from '../helpers/sysfs-tree.js';

const fixtures = fileURLToPath(new URL('../fixtures/cloud/', import.meta.url));
const spec = (name: string) => loadTreeSpec(join(fixtures, name));
const reply = (name: string) => (JSON.parse(readFileSync(join(fixtures, name), 'utf8')) as { reply: unknown }).reply;
const aws = JSON.parse(readFileSync(join(fixtures, 'aws-imdsv2.json'), 'utf8')) as { token: string; metaData: Record<string, string> };
const allReplies: FakeMetadataReplies = {
  gceInstance: reply('gce-tpu-vm-instance.json'),
  azureInstance: reply('azure-imds-instance.json'),
  aws,
};

const roots: string[] = [];
const servers: FakeMetadata[] = [];
function sysfs(treeSpec: TreeSpec): string {
  const root = tempRoot();
  roots.push(root);
  return join(buildTree(root, treeSpec), 'sys');
}
async function fake(replies: FakeMetadataReplies = allReplies): Promise<FakeMetadata> {
  const server = await startFakeMetadata(replies);
  servers.push(server);
  return server;
}
afterEach(async () => {
  roots.splice(0).forEach(removeTree);
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const bareMetal = { 'sys/class/dmi/id/sys_vendor': 'Dell Inc.', 'sys/class/dmi/id/product_name': 'PowerEdge R6515' };

describe('providerFromDmi', () => {
  it.each([
    ['dmi-gce.json', 'gcp', 'DMI product_name "Google Compute Engine"'],
    ['dmi-aws-nitro.json', 'aws', 'DMI sys_vendor "Amazon EC2"'],
    ['dmi-aws-xen.json', 'aws', 'DMI product_name "HVM domU", bios "Xen 4.11.amazon"'],
    ['dmi-azure.json', 'azure', 'DMI chassis_asset_tag 7783-7084-3265-9085-8269-3286-77'],
  ])('%s → %s', (file, provider, evidence) => {
    expect(providerFromDmi(sysfs(spec(file)))).toEqual({ provider, evidence });
  });

  it('bare metal and a missing DMI directory → none', () => {
    expect(providerFromDmi(sysfs(bareMetal))).toEqual({
      provider: 'none',
      evidence: 'no cloud DMI evidence (sys_vendor "Dell Inc.", product_name "PowerEdge R6515")',
    });
    expect(providerFromDmi('/nonexistent-sysfs')).toEqual({ provider: 'none', evidence: 'no cloud DMI evidence' });
  });
});

describe('detectCloud against a loopback metadata server', () => {
  it('GCE: Metadata-Flavor header, zone/region/machine type/accelerator type, grid zone and PUE', async () => {
    const server = await fake();
    const info = await detectCloud({ sysfsRoot: sysfs(spec('dmi-gce.json')), metadataUrl: server.url, env: {} });
    expect(info).toEqual({
      provider: 'gcp',
      evidence: 'DMI product_name "Google Compute Engine"',
      zone: 'us-central2-b',
      region: 'us-central2',
      machineType: 'ct4p-hightpu-4t',
      acceleratorType: 'v4-8',
      gridZone: 'US-CENT-SWPP',
      pue: { value: 1.1, source: 'Google fleet PUE 2023 (Google 2024 Environmental Report); no per-region figure for us-central2' },
    });
    expect(server.requests.map((r) => [r.method, r.url, r.headers['metadata-flavor']])).toEqual([
      ['GET', '/computeMetadata/v1/instance/?recursive=true', 'Google'],
    ]);
  });

  it('AWS: IMDSv2 token PUT first, then GETs carrying the token', async () => {
    const server = await fake();
    const info = await detectCloud({ sysfsRoot: sysfs(spec('dmi-aws-nitro.json')), metadataUrl: `${server.url}/`, env: {} });
    expect(info).toEqual({
      provider: 'aws',
      evidence: 'DMI sys_vendor "Amazon EC2"',
      region: 'eu-west-1',
      zone: 'eu-west-1b',
      machineType: 'p4d.24xlarge',
      gridZone: 'IE',
      pue: { value: 1.15, source: 'AWS global PUE 2023 (Amazon 2023 Sustainability Report); no per-region figure for eu-west-1' },
    });
    expect(server.requests[0]).toMatchObject({ method: 'PUT', url: '/latest/api/token', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } });
    expect(server.requests.slice(1).map((r) => [r.method, r.url, r.headers['x-aws-ec2-metadata-token']]).sort()).toEqual([
      ['GET', '/latest/meta-data/instance-type', aws.token],
      ['GET', '/latest/meta-data/placement/availability-zone', aws.token],
      ['GET', '/latest/meta-data/placement/region', aws.token],
    ]);
  });

  it('Azure: Metadata: true header, location and vmSize', async () => {
    const server = await fake();
    const info = await detectCloud({ sysfsRoot: sysfs(spec('dmi-azure.json')), metadataUrl: server.url, env: {} });
    expect(info).toMatchObject({ provider: 'azure', region: 'swedencentral', zone: '1', machineType: 'Standard_ND96asr_v4', gridZone: 'SE-SE3' });
    expect(info.pue).toEqual({ value: 1.18, source: 'Azure fleet design PUE FY2023 (Microsoft datacenter efficiency page); no per-region figure for swedencentral' });
    expect(server.requests[0]!.headers.metadata).toBe('true');
  });

  it('no DMI evidence and no env: not a single connection is attempted', async () => {
    const server = await fake();
    const info = await detectCloud({ sysfsRoot: sysfs(bareMetal), metadataUrl: server.url, env: {} });
    expect(info).toEqual({ provider: 'none', evidence: 'no cloud DMI evidence (sys_vendor "Dell Inc.", product_name "PowerEdge R6515")' });
    await new Promise((r) => setTimeout(r, 50));
    expect(server.connections).toBe(0);
  });

  it('Kubernetes: WATTPRINT_REGION names the region without any network probe', async () => {
    const server = await fake();
    const info = await detectCloud({ sysfsRoot: sysfs(bareMetal), metadataUrl: server.url, env: { WATTPRINT_REGION: 'europe-west1' } });
    expect(info).toEqual({
      provider: 'gcp',
      evidence: 'no cloud DMI evidence (sys_vendor "Dell Inc.", product_name "PowerEdge R6515"); region from env WATTPRINT_REGION=europe-west1',
      region: 'europe-west1',
      gridZone: 'BE',
      pue: { value: 1.09, source: 'Google per-campus PUE for europe-west1 (google.com/about/datacenters/efficiency via mlco2/impact, c. 2020)' },
    });
    expect(server.connections).toBe(0);
  });

  it('does not follow redirects: a 302 is an error, the DMI provider stands', async () => {
    const server = await fake({ mode: 'redirect' });
    const info = await detectCloud({ sysfsRoot: sysfs(spec('dmi-azure.json')), metadataUrl: server.url, env: {} });
    expect(info.provider).toBe('azure');
    expect(info.error).toBe(`azure metadata service at ${server.url} failed: GET ${server.url}/metadata/instance?api-version=2021-02-01: HTTP 302`);
    expect(server.requests.map((r) => r.url)).toEqual(['/metadata/instance?api-version=2021-02-01']);
    expect(info.pue).toEqual({ value: 1.18, source: 'Azure fleet design PUE FY2023 (Microsoft datacenter efficiency page)' });
  });

  it('gives up after timeoutMs when the service hangs', async () => {
    const server = await fake({ mode: 'hang' });
    const info = await detectCloud({ sysfsRoot: sysfs(spec('dmi-gce.json')), metadataUrl: server.url, env: {}, timeoutMs: 100 });
    expect(info.error).toBe(`gcp metadata service at ${server.url} failed: ${server.url}/computeMetadata/v1/instance/?recursive=true: no reply within 100 ms`);
  });
});

describe('cloud tables', () => {
  it('maps regions to Electricity Maps zones and guesses the provider from the region name', () => {
    expect(gridZoneForRegion('gcp', 'us-west1')).toBe('US-NW-BPAT');
    expect(gridZoneForRegion('aws', 'us-east-1')).toBe('US-MIDA-PJM');
    expect(gridZoneForRegion('azure', 'westus')).toBe('US-CAL-CISO');
    expect(gridZoneForRegion('gcp', 'mars-north1')).toBeUndefined();
    expect(providerForRegion('eu-west-1')).toBe('aws');
    expect(providerForRegion('northeurope')).toBe('azure');
    expect(providerForRegion('nowhere')).toBeUndefined();
  });

  it('uses the per-region PUE where published, else the fleet figure with the reason', () => {
    expect(pueFor('gcp', 'us-central1').value).toBe(1.11);
    expect(pueFor('aws')).toEqual({ value: 1.15, source: 'AWS global PUE 2023 (Amazon 2023 Sustainability Report)' });
  });
});
