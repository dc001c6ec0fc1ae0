import type { CloudInfo } from './cloud.js';
import type { ProbeResult } from '../collectors/types.js';
import type { DeviceKind, EnergyMethod } from '../src/types.js';

/** DoctorProbe is one collector's probe result with its name (the live collector, if any, is ignored). */
export type DoctorProbe = ProbeResult & { name: string };

/** DoctorPue is the PUE that would apply (dimensionless) and why. */
export interface DoctorPue {
  value: number;
  source: string;
}

/** DoctorIntensity is the grid intensity that would apply, in gCO2e/kWh, and where it comes from. */
export interface DoctorIntensity {
  intensityGramsPerKwh: number;
  source: string;
  zone?: string;
}

/** DoctorDevice is a device a collector would track, with its method. */
export interface DoctorDevice {
  id: string;
  name: string;
  kind: DeviceKind;
  method: EnergyMethod;
  notes?: string[];
}

/** DoctorCollector is one row of the doctor table. */
export interface DoctorCollector {
  name: string;
  status: 'found' | 'not found';
  why?: string;
  fix?: string;
  devices: DoctorDevice[];
  details?: Record<string, string | number | boolean>;
}

/** DoctorResult is everything `wattprint doctor` reports; JSON-safe (no live collectors). */
export interface DoctorResult {
  collectors: DoctorCollector[];
  cloud: CloudInfo;
  pue: DoctorPue;
  intensity: DoctorIntensity;
  /** Device ids per method over the found collectors: what is measured and what is modelled. */
  methods: Record<EnergyMethod, string[]>;
}

/** collectDoctor turns probe results, cloud detection, PUE and intensity into a DoctorResult (pure). */
export function collectDoctor(probes: DoctorProbe[], cloud: CloudInfo, pue: DoctorPue, intensity: DoctorIntensity): DoctorResult {
  const methods: Record<EnergyMethod, string[]> = { counter: [], sampled: [], modelled: [] };
  const collectors = probes.map((p): DoctorCollector => {
    const devices = p.devices.map((d) => ({ id: d.id, name: d.name, kind: d.kind, method: d.method, ...(d.notes?.length ? { notes: d.notes } : {}) }));
    if (p.found) for (const d of devices) methods[d.method].push(d.id);
    const row: DoctorCollector = { name: p.name, status: p.found ? 'found' : 'not found', devices };
    if (p.why) row.why = p.why;
    if (p.fix) row.fix = p.fix;
    if (p.details && Object.keys(p.details).length > 0) row.details = { ...p.details };
    return row;
  });
  return { collectors, cloud, pue, intensity, methods };
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

const kv = (key: string, value: string) => `${key.padEnd(12)}${value}`;

function cloudLines(cloud: CloudInfo): string[] {
  const lines = [kv('cloud', `${cloud.provider} (${cloud.evidence})`)];
  if (cloud.region || cloud.zone) {
    const where = [cloud.region ?? '?', cloud.zone ? `zone ${cloud.zone}` : undefined].filter(Boolean).join(', ');
    lines.push(kv('region', where));
  }
  if (cloud.machineType) lines.push(kv('machine', cloud.machineType));
  if (cloud.acceleratorType) lines.push(kv('accelerator', cloud.acceleratorType));
  if (cloud.gridZone) lines.push(kv('grid zone', cloud.gridZone));
  if (cloud.error) lines.push(kv('metadata', cloud.error));
  return lines;
}

/** renderDoctor renders a DoctorResult as a text table (collector | status | devices (method) | why, fix below) or JSON. */
export function renderDoctor(result: DoctorResult, format: 'text' | 'json'): string {
  if (format === 'json') return `${JSON.stringify(result, null, 2)}\n`;
  const rows: string[][] = [['COLLECTOR', 'STATUS', 'DEVICES (METHOD)', 'WHY']];
  const extra = new Map<number, string[]>();
  result.collectors.forEach((c, i) => {
    const devices = c.devices.length > 0 ? c.devices.map((d) => `${d.id} (${d.method})`).join(', ') : '-';
    rows.push([c.name, c.status, devices, c.why ?? '-']);
    const below: string[] = [];
    if (c.fix) below.push(`  fix: ${c.fix}`);
    if (c.details) below.push(`  details: ${Object.entries(c.details).map(([k, v]) => `${k}=${v}`).join('; ')}`);
    // Assumptions and their fixes (an unknown CPU's per-thread default, MIG, psys) matter before a run, not after.
    if (c.status === 'found') for (const d of c.devices) for (const note of d.notes ?? []) below.push(`  note: ${d.id}: ${note}`);
    extra.set(i + 1, below);
  });
  const out: string[] = [];
  table(rows).forEach((line, i) => out.push(line, ...(extra.get(i) ?? [])));
  const m = result.methods;
  const list = (ids: string[]) => (ids.length > 0 ? ids.join(', ') : 'none');
  out.push('', kv('measured', `counter: ${list(m.counter)}; sampled: ${list(m.sampled)}`), kv('modelled', list(m.modelled)), '');
  out.push(...cloudLines(result.cloud));
  out.push(kv('PUE', `${result.pue.value} (${result.pue.source})`));
  const zone = result.intensity.zone ? ` for ${result.intensity.zone}` : '';
  out.push(kv('intensity', `${result.intensity.intensityGramsPerKwh} gCO2e/kWh${zone} (${result.intensity.source})`));
  return `${out.join('\n')}\n`;
}
