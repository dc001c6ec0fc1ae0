import { describe, expect, it } from 'vitest';
import { collectDoctor, renderDoctor, type DoctorProbe } from '../../agent/doctor.js';
import type { CloudInfo } from '../../agent/cloud.js';

const probes: DoctorProbe[] = [
  {
    name: 'nvml',
    found: true,
    devices: [
      { id: 'gpu0', kind: 'gpu', name: 'NVIDIA H100 80GB HBM3', method: 'counter', collector: 'nvml' },
      { id: 'gpu1', kind: 'gpu', name: 'Tesla P100-PCIE-16GB', method: 'sampled', collector: 'nvml' },
    ],
    details: { driver: '590.48.01', mig: false },
    collector: { name: 'nvml', devices: [], read: () => ({ readings: [] }), close: () => {} },
  },
  {
    name: 'rapl',
    found: false,
    why: 'permission denied on /sys/class/powercap/intel-rapl:0/energy_uj',
    fix: 'sudo chmod g+r /sys/class/powercap/intel-rapl:*/energy_uj',
    devices: [{ id: 'package-0', kind: 'cpu', name: 'CPU (package 0)', method: 'counter', collector: 'rapl' }],
  },
  { name: 'tpu', found: false, why: 'no Google TPU', devices: [] },
  { name: 'cpu', found: true, devices: [{ id: 'cpu', kind: 'cpu', name: 'AMD EPYC 7763', method: 'modelled', collector: 'cpu' }] },
];
const cloud: CloudInfo = {
  provider: 'gcp',
  evidence: 'DMI product_name "Google Compute Engine"',
  region: 'us-central1',
  zone: 'us-central1-a',
  machineType: 'a3-highgpu-8g',
  gridZone: 'US-MIDW-MISO',
  pue: { value: 1.11, source: 'Google per-campus PUE' },
};
const pue = { value: 1.11, source: 'Google per-campus PUE for us-central1' };
const intensity = { intensityGramsPerKwh: 412.72, source: 'table:gcp-2024', zone: 'US-MIDW-MISO' };

describe('doctor', () => {
  it('collectDoctor keeps what matters, drops the live collector, groups device ids by method over found collectors', () => {
    const result = collectDoctor(probes, cloud, pue, intensity);
    expect(result.collectors[0]).toEqual({
      name: 'nvml',
      status: 'found',
      devices: [
        { id: 'gpu0', name: 'NVIDIA H100 80GB HBM3', kind: 'gpu', method: 'counter' },
        { id: 'gpu1', name: 'Tesla P100-PCIE-16GB', kind: 'gpu', method: 'sampled' },
      ],
      details: { driver: '590.48.01', mig: false },
    });
    expect(result.collectors[1]!.status).toBe('not found');
    expect(result.methods).toEqual({ counter: ['gpu0'], sampled: ['gpu1'], modelled: ['cpu'] });
  });

  it('renders the text table with fixes and details under their row', () => {
    const text = renderDoctor(collectDoctor(probes, cloud, pue, intensity), 'text');
    expect(text).toBe(
      [
        'COLLECTOR  STATUS     DEVICES (METHOD)                WHY',
        'nvml       found      gpu0 (counter), gpu1 (sampled)  -',
        '  details: driver=590.48.01; mig=false',
        'rapl       not found  package-0 (counter)             permission denied on /sys/class/powercap/intel-rapl:0/energy_uj',
        '  fix: sudo chmod g+r /sys/class/powercap/intel-rapl:*/energy_uj',
        'tpu        not found  -                               no Google TPU',
        'cpu        found      cpu (modelled)                  -',
        '',
        'measured    counter: gpu0; sampled: gpu1',
        'modelled    cpu',
        '',
        'cloud       gcp (DMI product_name "Google Compute Engine")',
        'region      us-central1, zone us-central1-a',
        'machine     a3-highgpu-8g',
        'grid zone   US-MIDW-MISO',
        'PUE         1.11 (Google per-campus PUE for us-central1)',
        'intensity   412.72 gCO2e/kWh for US-MIDW-MISO (table:gcp-2024)',
        '',
      ].join('\n'),
    );
  });

  it('renders no cloud and a metadata error plainly', () => {
    const none: CloudInfo = { provider: 'none', evidence: 'no cloud DMI evidence' };
    const text = renderDoctor(collectDoctor([], none, { value: 1, source: 'default 1.0 (no cloud detected)' }, { intensityGramsPerKwh: 475, source: 'world-average' }), 'text');
    expect(text.split('\n').slice(-6)).toEqual([
      'modelled    none',
      '',
      'cloud       none (no cloud DMI evidence)',
      'PUE         1 (default 1.0 (no cloud detected))',
      'intensity   475 gCO2e/kWh (world-average)',
      '',
    ]);
    const failed: CloudInfo = { provider: 'aws', evidence: 'DMI sys_vendor "Amazon EC2"', error: 'aws metadata service at http://127.0.0.1:1 failed: HTTP 401' };
    expect(renderDoctor(collectDoctor([], failed, pue, intensity), 'text')).toContain(
      'cloud       aws (DMI sys_vendor "Amazon EC2")\nmetadata    aws metadata service at http://127.0.0.1:1 failed: HTTP 401\n',
    );
  });

  it('renders JSON that round-trips to the result (no collector objects)', () => {
    const result = collectDoctor(probes, cloud, pue, intensity);
    const json = renderDoctor(result, 'json');
    expect(json.endsWith('}\n')).toBe(true);
    expect(JSON.parse(json)).toEqual(result);
    expect(json).not.toContain('"collector"');
    expect(JSON.parse(json).collectors[1]).toEqual({
      name: 'rapl',
      status: 'not found',
      why: 'permission denied on /sys/class/powercap/intel-rapl:0/energy_uj',
      fix: 'sudo chmod g+r /sys/class/powercap/intel-rapl:*/energy_uj',
      devices: [{ id: 'package-0', name: 'CPU (package 0)', kind: 'cpu', method: 'counter' }],
    });
  });
});
