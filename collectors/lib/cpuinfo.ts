import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { listDir, readTextOr } from './sysfs.js';

/**
 * The CPU inventory, read from files only: `<procfs>/cpuinfo` for the model name, the sysfs CPU topology for
 * sockets, cores and threads, and the SMBIOS processor record for an ARM server's brand. No child process
 * (lscpu, dmidecode), and every root is the one given by --procfs / --sysfs.
 */

/** CpuInventory is what the CPU model needs: name, hardware threads, physical cores (0 = unknown), sockets. */
export interface CpuInventory {
  name: string;
  threads: number;
  physicalCores: number;
  sockets: number;
  /** How each figure was found where it was not the usual source. */
  notes: string[];
}

/** CpuinfoSummary is what /proc/cpuinfo says, whatever the architecture. */
export interface CpuinfoSummary {
  /** x86 `model name` (or an old ARM kernel's `Processor`), first one. */
  modelName?: string;
  /** ARM cores as `CPU implementer`/`CPU part` pairs, distinct, in order of appearance. */
  armParts: { implementer: number; part: number }[];
  /** The board: a `Model` line (Raspberry Pi and device-tree kernels) or else `Hardware`. */
  board?: string;
  /** `processor` entries. */
  processors: number;
  /** x86 `physical id` values seen (sockets), and `physical id:core id` pairs (cores). */
  physicalIds: Set<string>;
  coreIds: Set<string>;
}

/** parseCpuinfo reads /proc/cpuinfo text of any architecture. Keys are case-sensitive: x86's `model` is a number, ARM's `Model` a board. */
export function parseCpuinfo(text: string): CpuinfoSummary {
  const out: CpuinfoSummary = { armParts: [], processors: 0, physicalIds: new Set(), coreIds: new Set() };
  const seenParts = new Set<string>();
  let implementer: number | undefined;
  let physicalId: string | undefined;
  let processorLine: string | undefined;
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim().replace(/\s+/g, ' ');
    if (key === 'processor') {
      // 'processor : 0' counts a CPU; an old ARM kernel's 'Processor : ARMv7 …' is a name.
      if (/^\d+$/.test(value)) out.processors++;
    } else if (key === 'Processor' && value) processorLine ??= value;
    else if (key === 'model name' && value) out.modelName ??= value;
    else if (key === 'CPU implementer') implementer = Number(value);
    else if (key === 'CPU part' && implementer !== undefined && Number.isFinite(implementer)) {
      const part = Number(value);
      const k = `${implementer}:${part}`;
      if (Number.isFinite(part) && !seenParts.has(k)) {
        seenParts.add(k);
        out.armParts.push({ implementer, part });
      }
    } else if (key === 'Model' && value) out.board = value;
    else if (key === 'Hardware' && value) out.board ??= value;
    else if (key === 'physical id') {
      physicalId = value;
      out.physicalIds.add(value);
    } else if (key === 'core id' && physicalId !== undefined) out.coreIds.add(`${physicalId}:${value}`);
  }
  out.modelName ??= processorLine;
  return out;
}

// CPU implementer and part numbers (the MIDR register), as util-linux's lscpu names them.
const IMPLEMENTERS: Record<number, string> = {
  0x41: 'ARM', 0x42: 'Broadcom', 0x43: 'Cavium', 0x46: 'Fujitsu', 0x48: 'HiSilicon', 0x4e: 'NVIDIA',
  0x50: 'APM', 0x51: 'Qualcomm', 0x61: 'Apple', 0xc0: 'Ampere',
};
const PARTS: Record<number, Record<number, string>> = {
  0x41: {
    0xb76: 'ARM1176', 0xc07: 'Cortex-A7', 0xc08: 'Cortex-A8', 0xc09: 'Cortex-A9', 0xc0f: 'Cortex-A15',
    0xd03: 'Cortex-A53', 0xd04: 'Cortex-A35', 0xd05: 'Cortex-A55', 0xd07: 'Cortex-A57', 0xd08: 'Cortex-A72',
    0xd09: 'Cortex-A73', 0xd0a: 'Cortex-A75', 0xd0b: 'Cortex-A76', 0xd0c: 'Neoverse-N1', 0xd0d: 'Cortex-A77',
    0xd40: 'Neoverse-V1', 0xd41: 'Cortex-A78', 0xd44: 'Cortex-X1', 0xd46: 'Cortex-A510', 0xd47: 'Cortex-A710',
    0xd48: 'Cortex-X2', 0xd49: 'Neoverse-N2', 0xd4a: 'Neoverse-E1', 0xd4b: 'Cortex-A78C', 0xd4d: 'Cortex-A715',
    0xd4e: 'Cortex-X3', 0xd4f: 'Neoverse-V2', 0xd80: 'Cortex-A520', 0xd81: 'Cortex-A720', 0xd82: 'Cortex-X4',
    0xd84: 'Neoverse-V3', 0xd8e: 'Neoverse-N3',
  },
  0x43: { 0x0a1: 'ThunderX', 0x0af: 'ThunderX2' },
  0x46: { 0x001: 'A64FX' },
  0x48: { 0xd01: 'TaiShan-v110' },
  0x4e: { 0x004: 'Carmel' },
  0x50: { 0x000: 'X-Gene' },
  0x51: { 0x001: 'Oryon' },
  0xc0: { 0xac3: 'Ampere-1', 0xac4: 'Ampere-1a' },
};

const hex = (n: number, width: number): string => `0x${n.toString(16).padStart(width, '0')}`;

/** armCoreName names an ARM core from its MIDR implementer and part: 'ARM Neoverse-N1'. */
export function armCoreName(implementer: number, part: number): string {
  const vendor = IMPLEMENTERS[implementer] ?? `implementer ${hex(implementer, 2)}`;
  return `${vendor} ${PARTS[implementer]?.[part] ?? `part ${hex(part, 3)}`}`;
}

/**
 * smbiosProcessorVersion reads the 'Processor Version' string of an SMBIOS type 4 record (the raw bytes of
 * /sys/firmware/dmi/entries/4-0/raw: what `dmidecode -t 4` prints as Version). Undefined when absent or a
 * placeholder. Layout (DMTF DSP0134): byte 1 = length of the formatted part, byte 0x10 = the version's
 * 1-based index among the NUL-terminated strings that follow it.
 */
export function smbiosProcessorVersion(raw: Buffer): string | undefined {
  if (raw.length < 0x11 || raw[0] !== 4) return undefined;
  const length = raw[1]!;
  const index = raw[0x10]!;
  if (index === 0 || length > raw.length) return undefined;
  const strings = raw.subarray(length).toString('latin1').split('\0');
  const value = strings[index - 1]?.trim().replace(/\s+/g, ' ');
  if (!value || /^(not specified|to be filled by o\.e\.m\.|unknown|default string|none)$/i.test(value)) return undefined;
  return value;
}

/** Topology is what sysfs says about the online CPUs: threads, distinct cores and packages. */
interface Topology {
  threads: number;
  cores: number;
  sockets: number;
}

/** readTopology counts `<sysfs>/devices/system/cpu/cpuN/topology` (offline CPUs have none); undefined without any. */
export function readTopology(sysfsRoot: string): Topology | undefined {
  const base = join(sysfsRoot, 'devices', 'system', 'cpu');
  const packages = new Set<string>();
  const cores = new Set<string>();
  let threads = 0;
  for (const entry of listDir(base)) {
    if (!/^cpu\d+$/.test(entry)) continue;
    const dir = join(base, entry, 'topology');
    const pkg = readTextOr(join(dir, 'physical_package_id'));
    if (pkg === undefined) continue;
    threads++;
    // Some ARM kernels report -1 (no package information): one package.
    const pkgId = pkg === '-1' ? '0' : pkg;
    packages.add(pkgId);
    // The CPUs sharing this one's core name the core, whatever the numbering of core_id across dies.
    const siblings = readTextOr(join(dir, 'core_cpus_list')) ?? readTextOr(join(dir, 'thread_siblings_list'));
    const coreId = readTextOr(join(dir, 'core_id'));
    cores.add(siblings !== undefined ? `s${siblings}` : coreId !== undefined ? `${pkgId}:${coreId}` : entry);
  }
  return threads > 0 ? { threads, cores: cores.size, sockets: packages.size } : undefined;
}

/** readCpuInventory reads the CPUs of the machine under the given roots; it never runs a program. */
export function readCpuInventory(procfsRoot: string, sysfsRoot: string): CpuInventory {
  const notes: string[] = [];
  const cpuinfoPath = join(procfsRoot, 'cpuinfo');
  const text = readTextOr(cpuinfoPath);
  if (text === undefined) notes.push(`cannot read ${cpuinfoPath}: CPU model unknown`);
  const info = parseCpuinfo(text ?? '');
  let name: string;
  if (info.armParts.length > 0) {
    // An ARM server's brand ('Ampere(R) Altra(R) Processor Q80-30', 'AWS Graviton2') is only in SMBIOS;
    // the record is readable by root alone, and absent in most VMs.
    const raw = readRaw(join(sysfsRoot, 'firmware', 'dmi', 'entries', '4-0', 'raw'));
    const cores = info.armParts.map((p) => armCoreName(p.implementer, p.part));
    const brand = raw && smbiosProcessorVersion(raw);
    name = brand ?? [cores[0]!, ...cores.slice(1).map((c) => c.replace(/^\S+ /, ''))].join(' + ');
    if (brand) notes.push(`CPU ${brand} (SMBIOS), cores ${cores.join(', ')}`);
  } else name = info.modelName ?? 'unknown CPU';
  if (info.board) name = `${name} (${info.board})`;
  const topology = readTopology(sysfsRoot);
  if (topology) return { name, threads: topology.threads, physicalCores: topology.cores, sockets: topology.sockets, notes };
  if (info.processors > 0) {
    notes.push(`no CPU topology under ${join(sysfsRoot, 'devices', 'system', 'cpu')}: counts from ${cpuinfoPath}`);
    return { name, threads: info.processors, physicalCores: info.coreIds.size, sockets: Math.max(1, info.physicalIds.size), notes };
  }
  const threads = availableParallelism();
  notes.push(`no CPU topology under ${sysfsRoot} nor processors in ${cpuinfoPath}: ${threads} threads as this process sees them`);
  return { name, threads, physicalCores: 0, sockets: 1, notes };
}

function readRaw(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}
