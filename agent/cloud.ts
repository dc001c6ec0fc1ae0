import { request } from 'node:http';
import { join } from 'node:path';
import { gridZoneForRegion, providerForRegion, pueFor, type CloudProvider, type SourcedValue } from '../src/carbon/cloud-tables.js';
import { readTextOr } from '../collectors/lib/sysfs.js';

/** CloudInfo is where this host runs, from DMI, then the provider's metadata service or env. */
export interface CloudInfo {
  provider: CloudProvider | 'none';
  /** What decided the provider: 'DMI sys_vendor "Amazon EC2"', 'env WATTPRINT_REGION=…', 'no DMI evidence'. */
  evidence: string;
  region?: string;
  zone?: string;
  machineType?: string;
  /** GCP TPU VMs: the accelerator-type attribute ('v4-8', 'v5litepod-8'). */
  acceleratorType?: string;
  /** Electricity Maps zone of the region. */
  gridZone?: string;
  /** The PUE default for this provider/region. */
  pue?: SourcedValue;
  /** The metadata service failed (timeout, refused, bad reply): one line, the provider from DMI still holds. */
  error?: string;
}

/** DetectCloudOptions are the injectable inputs: sysfs root, metadata base override, env, timeout. */
export interface DetectCloudOptions {
  sysfsRoot: string;
  /** Overrides the provider's metadata base URL (tests: a loopback fake). */
  metadataUrl?: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Per-request timeout in milliseconds (default 500). */
  timeoutMs?: number;
}

/** REGION_ENV is the env variable that names the cloud region where DMI cannot (Kubernetes pods, containers). */
export const REGION_ENV = 'WATTPRINT_REGION';

/** DEFAULT_METADATA_URL is each provider's real metadata base; used only after DMI evidence, never in tests. */
export const DEFAULT_METADATA_URL: Readonly<Record<CloudProvider, string>> = {
  gcp: 'http://metadata.google.internal',
  aws: 'http://169.254.169.254',
  azure: 'http://169.254.169.254',
};

const AZURE_ASSET_TAG = '7783-7084-3265-9085-8269-3286-77';

/** providerFromDmi reads `<sysfs>/class/dmi/id` and names the provider with the evidence, or none. */
export function providerFromDmi(sysfsRoot: string): { provider: CloudProvider | 'none'; evidence: string } {
  const dmi = (f: string) => readTextOr(join(sysfsRoot, 'class', 'dmi', 'id', f)) ?? '';
  const productName = dmi('product_name');
  const sysVendor = dmi('sys_vendor');
  if (productName === 'Google Compute Engine') return { provider: 'gcp', evidence: 'DMI product_name "Google Compute Engine"' };
  if (sysVendor === 'Amazon EC2') return { provider: 'aws', evidence: 'DMI sys_vendor "Amazon EC2"' };
  if (dmi('board_vendor') === 'Amazon EC2') return { provider: 'aws', evidence: 'DMI board_vendor "Amazon EC2"' };
  // Xen-based EC2 generations: product_name "HVM domU" with an Amazon BIOS version such as "4.11.amazon".
  const bios = `${dmi('bios_vendor')} ${dmi('bios_version')}`;
  if (productName === 'HVM domU' && /amazon/i.test(bios)) return { provider: 'aws', evidence: `DMI product_name "HVM domU", bios "${bios.trim()}"` };
  if (dmi('chassis_asset_tag') === AZURE_ASSET_TAG) return { provider: 'azure', evidence: `DMI chassis_asset_tag ${AZURE_ASSET_TAG}` };
  const seen = sysVendor || productName ? ` (sys_vendor "${sysVendor}", product_name "${productName}")` : '';
  return { provider: 'none', evidence: `no cloud DMI evidence${seen}` };
}

/** httpText does one HTTP request without following redirects; rejects on timeout, non-2xx or > 1 MiB. */
export function httpText(url: string, opts: { method?: string; headers?: Record<string, string>; timeoutMs: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        res.resume();
        reject(new Error(`${opts.method ?? 'GET'} ${url}: HTTP ${status}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 1 << 20) req.destroy(new Error(`${url}: reply over 1 MiB`));
        else chunks.push(c);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`${url}: no reply within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (cause) => reject(cause));
    req.end();
  });
}

/** Metadata is what a provider's metadata service says about the instance. */
export interface Metadata {
  region?: string;
  zone?: string;
  machineType?: string;
  acceleratorType?: string;
}

/** defined drops undefined fields so results compare and serialise cleanly. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const lastSegment = (s: unknown) => (typeof s === 'string' && s ? s.split('/').pop() : undefined);

/** parseGceInstance reads GCE `?recursive=true` JSON: the whole tree ({instance, project}) or the instance. */
export function parseGceInstance(json: unknown): Metadata {
  const root = json as { instance?: Record<string, unknown> } & Record<string, unknown>;
  const inst = (root.instance ?? root) as { zone?: unknown; machineType?: unknown; attributes?: Record<string, unknown> };
  const zone = lastSegment(inst.zone); // projects/NNN/zones/us-east1-b → us-east1-b
  const accel = inst.attributes?.['accelerator-type'];
  return defined({
    zone,
    region: zone?.replace(/-[a-z]$/, ''),
    machineType: lastSegment(inst.machineType),
    acceleratorType: typeof accel === 'string' && accel ? accel : undefined,
  });
}

/** parseAzureInstance reads Azure IMDS /metadata/instance JSON: compute.location, zone, vmSize. */
export function parseAzureInstance(json: unknown): Metadata {
  const c = (json as { compute?: Record<string, unknown> }).compute ?? {};
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  return defined({ region: str(c.location), zone: str(c.zone), machineType: str(c.vmSize) });
}

/** fetchMetadata asks one provider's metadata service (GCP flavor header, AWS IMDSv2 token, Azure Metadata header). */
export async function fetchMetadata(provider: CloudProvider, baseUrl: string, timeoutMs: number): Promise<Metadata> {
  const base = baseUrl.replace(/\/+$/, '');
  if (provider === 'gcp') {
    const text = await httpText(`${base}/computeMetadata/v1/instance/?recursive=true`, {
      headers: { 'Metadata-Flavor': 'Google' },
      timeoutMs,
    });
    return parseGceInstance(JSON.parse(text));
  }
  if (provider === 'azure') {
    const text = await httpText(`${base}/metadata/instance?api-version=2021-02-01`, { headers: { Metadata: 'true' }, timeoutMs });
    return parseAzureInstance(JSON.parse(text));
  }
  const token = await httpText(`${base}/latest/api/token`, {
    method: 'PUT',
    headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' },
    timeoutMs,
  });
  const get = (path: string) =>
    httpText(`${base}/latest/meta-data/${path}`, { headers: { 'X-aws-ec2-metadata-token': token.trim() }, timeoutMs }).then((t) => t.trim());
  const [region, zone, machineType] = await Promise.all([get('placement/region'), get('placement/availability-zone'), get('instance-type')]);
  return defined({ region: region || undefined, zone: zone || undefined, machineType: machineType || undefined });
}

/**
 * detectCloud decides the provider from DMI first and only then asks that provider's metadata service.
 * Without DMI evidence it makes no network call at all; WATTPRINT_REGION (e.g. set from the node's
 * topology.kubernetes.io/region label) names the region where DMI is hidden, and wins over metadata.
 */
export async function detectCloud(opts: DetectCloudOptions): Promise<CloudInfo> {
  const { provider: dmiProvider, evidence } = providerFromDmi(opts.sysfsRoot);
  const envRegion = opts.env[REGION_ENV]?.trim() || undefined;
  let info: CloudInfo = { provider: dmiProvider, evidence };
  if (dmiProvider !== 'none') {
    const base = opts.metadataUrl ?? DEFAULT_METADATA_URL[dmiProvider];
    try {
      info = { ...info, ...(await fetchMetadata(dmiProvider, base, opts.timeoutMs ?? 500)) };
    } catch (cause) {
      info.error = `${dmiProvider} metadata service at ${base} failed: ${(cause as Error).message}`;
    }
  }
  if (envRegion) {
    const provider = info.provider !== 'none' ? info.provider : providerForRegion(envRegion) ?? 'none';
    info = { ...info, provider, region: envRegion, evidence: `${info.evidence}; region from env ${REGION_ENV}=${envRegion}` };
  }
  if (info.provider !== 'none') {
    info.pue = pueFor(info.provider, info.region);
    if (info.region) info.gridZone = gridZoneForRegion(info.provider, info.region);
  }
  return info;
}
