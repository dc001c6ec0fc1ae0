/**
 * Which GPUs belong to the job: CUDA_VISIBLE_DEVICES / --gpus entries matched against the GPUs a driver reports.
 * Pure: no I/O, so both NVIDIA collectors (and doctor) share one set of rules.
 */

/** MIG_NOTE is the report line for a GPU whose MIG slices cannot be metered separately. */
export const MIG_NOTE = 'MIG enabled: power and energy belong to the whole physical GPU';

/** GpuIdentity is what a collector knows about one physical GPU: its NVML/nvidia-smi index and UUIDs. */
export interface GpuIdentity {
  /** Physical index as NVML and nvidia-smi number it (PCI bus order). */
  index: number;
  /** 'GPU-xxxxxxxx-...'. */
  uuid?: string;
  /** UUIDs of MIG devices carved out of this GPU ('MIG-xxxxxxxx-...'), when known. */
  migUuids?: string[];
}

/** GpuSelection is the outcome of matching the requested entries. */
export interface GpuSelection {
  /** Physical indices selected, in request order, without duplicates. */
  indices: number[];
  /** Entries that matched nothing, plus every entry after the first such one (CUDA ignores those too). */
  unmatched: string[];
  /** Selected physical indices reached through a MIG UUID: power and energy are the whole GPU's. */
  viaMig: number[];
}

/**
 * selectGpus applies CUDA_VISIBLE_DEVICES rules to `requested` (undefined = every GPU):
 * an entry is a non-negative index, a (unique prefix of a) GPU UUID, or a MIG UUID in either the current
 * 'MIG-<uuid>' form (matched through `migUuids`) or the legacy 'MIG-GPU-<gpu uuid>/<gi>/<ci>' form.
 * Like CUDA, parsing stops at the first entry that matches nothing ('-1' is the usual way to hide all GPUs),
 * so later entries are reported unmatched instead of selected. Empty entries are skipped, so an empty
 * CUDA_VISIBLE_DEVICES selects nothing.
 * Caveat: CUDA numbers GPUs fastest-first unless CUDA_DEVICE_ORDER=PCI_BUS_ID; indices here are physical.
 */
export function selectGpus(requested: readonly string[] | undefined, gpus: readonly GpuIdentity[]): GpuSelection {
  if (requested === undefined) return { indices: gpus.map((g) => g.index), unmatched: [], viaMig: [] };
  const entries = requested.map((e) => e.trim()).filter((e) => e.length > 0);
  const indices: number[] = [];
  const viaMig: number[] = [];
  for (let i = 0; i < entries.length; i++) {
    const match = matchEntry(entries[i], gpus);
    if (match === undefined) return { indices, unmatched: entries.slice(i), viaMig };
    if (!indices.includes(match.index)) indices.push(match.index);
    if (match.mig && !viaMig.includes(match.index)) viaMig.push(match.index);
  }
  return { indices, unmatched: [], viaMig };
}

interface EntryMatch {
  index: number;
  mig: boolean;
}

function matchEntry(entry: string, gpus: readonly GpuIdentity[]): EntryMatch | undefined {
  if (/^\d+$/.test(entry)) {
    const index = Number(entry);
    return gpus.some((g) => g.index === index) ? { index, mig: false } : undefined;
  }
  const lower = entry.toLowerCase();
  if (lower.startsWith('mig-gpu-')) {
    // Legacy MIG form (drivers < 470): MIG-GPU-<parent uuid>/<gpu instance>/<compute instance>.
    const parent = lower.slice('mig-'.length).split('/')[0];
    const found = gpus.find((g) => g.uuid?.toLowerCase() === parent);
    return found ? { index: found.index, mig: true } : undefined;
  }
  if (lower.startsWith('mig-')) {
    const found = gpus.find((g) => g.migUuids?.some((m) => m.toLowerCase() === lower));
    return found ? { index: found.index, mig: true } : undefined;
  }
  if (lower.startsWith('gpu-')) {
    // CUDA accepts any prefix of a UUID that names exactly one GPU.
    const found = gpus.filter((g) => g.uuid?.toLowerCase().startsWith(lower));
    return found.length === 1 ? { index: found[0].index, mig: false } : undefined;
  }
  return undefined;
}

/** describeUnmatched renders one user-facing line for entries that named no GPU, or undefined when all matched. */
export function describeUnmatched(selection: GpuSelection, visibleCount: number): string | undefined {
  if (selection.unmatched.length === 0) return undefined;
  return `GPU selection entries ${selection.unmatched.map((e) => `'${e}'`).join(', ')} match none of the ${visibleCount} GPUs the driver reports (or follow one that does not; CUDA ignores the rest)`;
}

/** gpuNames names GPUs for a message: index and the start of the UUID ('0 (GPU-8932f937…)'). */
export function gpuNames(gpus: readonly GpuIdentity[]): string[] {
  return gpus.map((g) => (g.uuid ? `${g.index} (${g.uuid.slice(0, 12)}…)` : String(g.index)));
}
