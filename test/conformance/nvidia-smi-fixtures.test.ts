/** Parses every real nvidia-smi capture under ../shared/fixtures/nvidia-smi (see SOURCES.md for provenance). */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeShared, SHARED_FIXTURES } from '../helpers/shared-fixtures.js';
import {
  parseCsvNumber, parseHelpQueryGpu, parseNvidiaSmiXml, parseQueryGpuCsv, smiPowerWatts, type SmiGpu,
} from '../../collectors/nvidia-smi/parse.js';

const ROOT = `${SHARED_FIXTURES}nvidia-smi/`;
const suite = describeShared('nvidia-smi');
const read = (sub: string, file: string) => readFileSync(join(ROOT, sub, file), 'utf8');

// Figures from SOURCES.md: [file, driver, CUDA, name, arch, MIG, layout, power.draw, average, instant, limit].
type XmlCase = [string, string, string, string, string | undefined, string | undefined, SmiGpu['powerLayout'], number?, number?, number?, number?];
const XML: XmlCase[] = [
  ['netdata__a100-sxm4-40gb__510.47.03__mig.xml', '510.47.03', '11.6', 'NVIDIA A100-SXM4-40GB', 'Ampere', 'Enabled', 'power_readings', 66.92, undefined, undefined, 400],
  ['netdata__rtx-4090__535.86.05.xml', '535.86.05', '12.2', 'NVIDIA GeForce RTX 4090', 'Ada Lovelace', undefined, 'gpu_power_readings', 26.84, undefined, undefined, 450],
  ['netdata__tesla-p100-pcie-16gb__510.47.03.xml', '510.47.03', '11.6', 'Tesla P100-PCIE-16GB', 'Pascal', undefined, 'power_readings', 26.16, undefined, undefined, 250],
  ['telegraf__a100-sxm4-80gb__535.54.03__mig.xml', '535.54.03', '12.2', 'NVIDIA A100-SXM4-80GB', 'Ampere', 'Enabled', 'gpu_power_readings', 67.03, undefined, undefined, 500],
  ['telegraf__a10g__515.105.01.xml', '515.105.01', '11.7', 'NVIDIA A10G', 'Ampere', undefined, 'power_readings', 25.58, undefined, undefined, 300],
  ['telegraf__quadro-p400__418.43.xml', '418.43', '10.1', 'Quadro P400', undefined, undefined, 'power_readings', undefined, undefined, undefined, undefined],
  ['telegraf__rtx-3060__570.124.04.xml', '570.124.04', '12.8', 'NVIDIA GeForce RTX 3060', 'Ampere', undefined, 'gpu_power_readings', undefined, 11.6, 11.63, 170],
  ['telegraf__rtx-3080__536.40__windows-wddm.xml', '536.40', '12.2', 'NVIDIA GeForce RTX 3080', 'Ampere', undefined, 'gpu_power_readings', 22.78, undefined, undefined, 336],
  ['telegraf__rtx-3080__595.58.03__v13.xml', '595.58.03', '13.2', 'NVIDIA GeForce RTX 3080', 'Ampere', undefined, 'gpu_power_readings', undefined, 139.62, 142.33, 320],
  ['telegraf__rtx-3090__525.147.05.xml', '525.147.05', '12.0', 'NVIDIA GeForce RTX 3090', 'Ampere', undefined, 'power_readings', 27.23, undefined, undefined, 200],
  ['telegraf__rtx-4000-sff-ada__595.84__v13.xml', '595.84', '13.2', 'NVIDIA RTX 4000 SFF Ada Generation', 'Ada Lovelace', undefined, 'gpu_power_readings', undefined, 8.81, 8.44, 70],
  ['telegraf__tesla-t4__515.105.01.xml', '515.105.01', '11.7', 'Tesla T4', 'Turing', undefined, 'power_readings', 26.78, undefined, undefined, 70],
];

// [file, fields, name, power.draw, power.draw.average, power.draw.instant, enforced.power.limit, mig.mode.current].
type CsvCase = [string, number, string, number, number | undefined, number | undefined, number | undefined, string | undefined];
const CSV: CsvCase[] = [
  ['h100-80gb-hbm3__590.48.01__idle__query-gpu.csv', 212, 'NVIDIA H100 80GB HBM3', 69.85, 69.85, 69.62, 700, 'Disabled'],
  ['h100-80gb-hbm3__590.48.01__load__query-gpu.csv', 212, 'NVIDIA H100 80GB HBM3', 631.95, 631.95, 625.68, 700, 'Disabled'],
  ['h100-mig__590.48.01__load__query-gpu.csv', 212, 'NVIDIA H100 80GB HBM3', 433.78, 433.78, 447.35, 700, 'Enabled'],
  ['h200__590.48.01__load__query-gpu.csv', 212, 'NVIDIA H200', 627.4, 627.4, 626.26, 700, 'Disabled'],
  ['l40s__595.80__load__query-gpu.csv', 202, 'NVIDIA L40S', 110.23, 110.23, 112.38, 350, undefined],
  ['rtx-4080-super__595.71.05__load__query-gpu.csv', 202, 'NVIDIA GeForce RTX 4080 SUPER', 84.24, 84.24, 86.41, 320, undefined],
  ['rtx-2080-super__610.57.04__load__query-gpu.csv', 241, 'NVIDIA GeForce RTX 2080 SUPER', 98.14, undefined, 98.14, 250, undefined],
  ['rtx-2080-super__591.86__windows__load__query-gpu.csv', 210, 'NVIDIA GeForce RTX 2080 SUPER', 97.43, undefined, 97.43, 250, undefined],
  ['nvidia_gpu_exporter__rtx-2080-super__471.11__windows__query-gpu.csv', 115, 'NVIDIA GeForce RTX 2080 SUPER', 32.7, undefined, undefined, 250, undefined],
  ['netdata__tesla-p100__query-gpu-nounits.csv', 15, 'Tesla P100-PCIE-16GB', 28.16, undefined, undefined, undefined, undefined],
];

suite('nvidia-smi conformance on real captures', () => {
  it('has an expectation for every XML and query-gpu CSV capture', () => {
    expect(readdirSync(join(ROOT, 'xml')).sort()).toEqual(XML.map((c) => c[0]).sort());
    const queryGpu = readdirSync(join(ROOT, 'csv')).filter((f) => !f.includes('compute-apps'));
    expect(queryGpu.sort()).toEqual(CSV.map((c) => c[0]).sort());
  });

  it.each(XML)('parses -q -x %s', (file, driver, cuda, name, arch, mig, layout, draw, average, instant, limit) => {
    const inventory = parseNvidiaSmiXml(read('xml', file));
    expect(inventory.driverVersion).toBe(driver);
    expect(inventory.cudaVersion).toBe(cuda);
    expect(inventory.gpus).toHaveLength(1);
    const gpu = inventory.gpus[0];
    expect([gpu.name, gpu.architecture, gpu.migMode, gpu.powerLayout]).toEqual([name, arch, mig, layout]);
    expect([gpu.powerDrawWatts, gpu.averagePowerDrawWatts, gpu.instantPowerDrawWatts, gpu.powerLimitWatts]).toEqual([draw, average, instant, limit]);
    expect(smiPowerWatts(gpu)).toBe(average ?? draw);
    expect(gpu.uuid).toMatch(/^GPU-[0-9a-f-]{36}$/);
  });

  it.each(CSV)('parses --query-gpu CSV %s', (file, fieldCount, name, draw, average, instant, limit, mig) => {
    const csv = parseQueryGpuCsv(read('csv', file));
    expect(csv.fields).toHaveLength(fieldCount);
    expect(csv.units['power.draw']).toBe('W');
    expect(csv.malformedLines).toBe(0);
    expect(csv.rows).toHaveLength(1);
    const row = csv.rows[0];
    expect(row.name).toBe(name);
    const num = (f: string) => parseCsvNumber(row[f]);
    expect([num('power.draw'), num('power.draw.average'), num('power.draw.instant'), num('enforced.power.limit')]).toEqual([draw, average, instant, limit]);
    expect(row['mig.mode.current']).toBe(mig);
  });

  it('parses --query-compute-apps CSVs (values with MiB units)', () => {
    const h100 = parseQueryGpuCsv(read('csv', 'h100-80gb-hbm3__590.48.01__load__query-compute-apps.csv'));
    expect(h100.rows.map((r) => [r.process_name, parseCsvNumber(r.used_gpu_memory)])).toEqual([
      ['/root/tools/memhog', 2566], ['/root/tools/memhog', 1542], ['./gpu_burn', 15690],
    ]);
    const mig = parseQueryGpuCsv(read('csv', 'h100-mig__590.48.01__load__query-compute-apps.csv'));
    expect(mig.rows).toHaveLength(3);
    expect(parseCsvNumber(mig.rows[0].used_gpu_memory)).toBe(2296);
  });

  it('learns accepted fields from --help-query-gpu: power.draw.average is new', () => {
    const section = (file: string) => {
      const text = read('captures', file);
      const start = text.indexOf('List of valid properties to query for the switch "--query-gpu');
      const end = text.indexOf('\n#', start);
      return text.slice(start, end === -1 ? undefined : end);
    };
    const h100 = parseHelpQueryGpu(section('linux-x86_64__nvidia-h100-80gb-hbm3__590.48.01.txt'));
    expect(['index', 'power.draw', 'power.draw.average', 'gpu.power.draw.average', 'power.draw.instant', 'enforced.power.limit'].every((f) => h100.has(f))).toBe(true);
    const old = parseHelpQueryGpu(section('output_ubuntu_20.04_v465.27.txt'));
    expect([old.has('power.draw'), old.has('index'), old.has('power.draw.average')]).toEqual([true, true, false]);
  });
});
