/**
 * Pure parsers for nvidia-smi output: `--help-query-gpu`, `--query-gpu ... --format=csv[,noheader][,nounits]`
 * and `-q -x` (all three XML power layouts). Tested on real captures from many GPUs and drivers.
 */
import { createRequire } from 'node:module';

/** CsvRow maps a query field ('power.draw') to its raw text; undefined when nvidia-smi said it is missing. */
export type CsvRow = Record<string, string | undefined>;

/** QueryGpuCsv is a parsed --query-gpu (or --query-compute-apps) CSV. */
export interface QueryGpuCsv {
  fields: string[];
  /** Unit per field from the header ('W' for 'power.draw [W]'), when the header carries one. */
  units: Record<string, string>;
  rows: CsvRow[];
  /** Data lines whose cell count did not match the fields. */
  malformedLines: number;
}

/** isMissing says whether a CSV/XML value means "no value": [N/A], N/A, [Not Supported], [Unknown Error], ''. */
export function isMissing(raw: string): boolean {
  const value = raw.trim();
  return value === '' || value === 'N/A' || (value.startsWith('[') && value.endsWith(']'));
}

/** parseQueryGpuLine splits one data line into a row for `fields`; undefined when the cell count is wrong. */
export function parseQueryGpuLine(line: string, fields: readonly string[]): CsvRow | undefined {
  const cells = line.split(',');
  if (cells.length !== fields.length) return undefined;
  const row: CsvRow = {};
  for (let i = 0; i < fields.length; i++) {
    const cell = cells[i].trim();
    row[fields[i]] = isMissing(cell) ? undefined : cell;
  }
  return row;
}

/**
 * parseQueryGpuCsv parses CSV in any of nvidia-smi's forms. With `fields` the text has no header (noheader);
 * without, the first line is the header, whose cells may carry units ('power.draw [W]'). Values may carry
 * units too ('32.70 W'); parseCsvNumber strips them.
 */
export function parseQueryGpuCsv(text: string, fields?: readonly string[]): QueryGpuCsv {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const units: Record<string, string> = {};
  let names: string[];
  if (fields) {
    names = [...fields];
  } else {
    names = (lines.shift() ?? '').split(',').map((cell) => {
      const m = /^\s*(.*?)\s*(?:\[(.+)\])?\s*$/.exec(cell)!;
      if (m[2] !== undefined) units[m[1]] = m[2];
      return m[1];
    });
  }
  const rows: CsvRow[] = [];
  let malformedLines = 0;
  for (const line of lines) {
    const row = parseQueryGpuLine(line, names);
    if (row) rows.push(row);
    else malformedLines++;
  }
  return { fields: names, units, rows, malformedLines };
}

/**
 * parseCsvNumber reads '69.85', '69.85 W', '16 %' or '2566 MiB' as a number; undefined when the value is
 * missing; NaN when it is present but not a number (a malformed or 'nan' field).
 */
export function parseCsvNumber(raw: string | undefined): number | undefined {
  if (raw === undefined || isMissing(raw)) return undefined;
  const m = /^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?:\s*[A-Za-z%/]+)?$/.exec(raw.trim());
  return m ? Number(m[1]) : NaN;
}

/** parseHelpQueryGpu lists every field name (and alias) that `nvidia-smi --help-query-gpu` accepts. */
export function parseHelpQueryGpu(text: string): Set<string> {
  const fields = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line.startsWith('"')) continue;
    for (const m of line.matchAll(/"([^"]+)"/g)) fields.add(m[1]);
  }
  return fields;
}

/** SmiGpu is one GPU from `nvidia-smi -q -x`; powers in watts, undefined where nvidia-smi says N/A. */
export interface SmiGpu {
  /** Position in the XML, which is nvidia-smi's (= NVML's) index. */
  index: number;
  name?: string;
  uuid?: string;
  busId?: string;
  architecture?: string;
  /** 'Enabled' | 'Disabled' as printed; undefined when the GPU has no MIG. */
  migMode?: string;
  /** Which XML layout carried power: ≤525 'power_readings', 535+ 'gpu_power_readings'. */
  powerLayout?: 'power_readings' | 'gpu_power_readings';
  powerDrawWatts?: number;
  averagePowerDrawWatts?: number;
  instantPowerDrawWatts?: number;
  /** Enforced limit (legacy enforced_power_limit, else power_limit; 535+ current_power_limit). */
  powerLimitWatts?: number;
  defaultPowerLimitWatts?: number;
}

/** SmiInventory is the one-shot inventory from `nvidia-smi -q -x`. */
export interface SmiInventory {
  driverVersion?: string;
  cudaVersion?: string;
  gpus: SmiGpu[];
}

type XmlNode = Record<string, unknown>;
type FastXmlParser = typeof import('fast-xml-parser');
// fast-xml-parser, configured to give the tree node-nvidia-smi's xml2js options gave (one child an object,
// several an array, text trimmed and kept as strings, attributes under '$'). node-nvidia-smi itself is not
// used: it shells out to a hard-coded 'nvidia-smi' with no timeout, and --nvidia-smi must be able to name the binary.
// Required on first use: the XML parser is only needed at probe when NVML is absent.
let parser: { parse(text: string): unknown } | undefined;
function xmlParser(): { parse(text: string): unknown } {
  if (parser) return parser;
  const { XMLParser } = createRequire(import.meta.url)('fast-xml-parser') as FastXmlParser;
  return (parser = new XMLParser({
    ignoreAttributes: false, attributeNamePrefix: '', attributesGroupName: '$', trimValues: true,
    parseTagValue: false, parseAttributeValue: false, processEntities: true,
  }));
}

/** parseNvidiaSmiXml parses `nvidia-smi -q -x` output. */
export function parseNvidiaSmiXml(text: string): SmiInventory {
  let parsed: unknown;
  try {
    parsed = xmlParser().parse(text);
  } catch (cause) {
    throw new Error('parse nvidia-smi -q -x output', { cause });
  }
  const log = (parsed as XmlNode | undefined)?.nvidia_smi_log as XmlNode | undefined;
  if (!log) throw new Error('parse nvidia-smi -q -x output: no <nvidia_smi_log> element');
  const gpuNodes = log.gpu === undefined ? [] : Array.isArray(log.gpu) ? log.gpu : [log.gpu];
  return {
    driverVersion: text_(log.driver_version),
    cudaVersion: text_(log.cuda_version),
    gpus: gpuNodes.map((node, index) => parseGpu(node as XmlNode, index)),
  };
}

function parseGpu(gpu: XmlNode, index: number): SmiGpu {
  const out: SmiGpu = { index };
  const set = <K extends keyof SmiGpu>(key: K, value: SmiGpu[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set('name', text_(gpu.product_name));
  set('uuid', text_(gpu.uuid));
  set('busId', text_((gpu.$ as XmlNode | undefined)?.id) ?? text_((gpu.pci as XmlNode | undefined)?.pci_bus_id));
  set('architecture', text_(gpu.product_architecture));
  set('migMode', text_((gpu.mig_mode as XmlNode | undefined)?.current_mig));
  const modern = gpu.gpu_power_readings as XmlNode | undefined;
  const legacy = gpu.power_readings as XmlNode | undefined;
  if (modern && typeof modern === 'object') {
    out.powerLayout = 'gpu_power_readings';
    set('powerDrawWatts', watts(modern.power_draw));
    set('averagePowerDrawWatts', watts(modern.average_power_draw));
    set('instantPowerDrawWatts', watts(modern.instant_power_draw));
    set('powerLimitWatts', watts(modern.current_power_limit) ?? watts(modern.enforced_power_limit));
    set('defaultPowerLimitWatts', watts(modern.default_power_limit));
  } else if (legacy && typeof legacy === 'object') {
    out.powerLayout = 'power_readings';
    set('powerDrawWatts', watts(legacy.power_draw));
    set('powerLimitWatts', watts(legacy.enforced_power_limit) ?? watts(legacy.power_limit));
    set('defaultPowerLimitWatts', watts(legacy.default_power_limit));
  }
  return out;
}

/** smiPowerWatts picks a GPU's board power in watts: the 1 s average where reported, else power_draw, else instant. */
export function smiPowerWatts(gpu: SmiGpu): number | undefined {
  return gpu.averagePowerDrawWatts ?? gpu.powerDrawWatts ?? gpu.instantPowerDrawWatts;
}

function text_(node: unknown): string | undefined {
  if (typeof node !== 'string') return undefined;
  return isMissing(node) ? undefined : node;
}

function watts(node: unknown): number | undefined {
  const value = parseCsvNumber(text_(node));
  return value === undefined || Number.isNaN(value) ? undefined : value;
}
