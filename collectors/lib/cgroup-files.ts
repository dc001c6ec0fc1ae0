/**
 * Pure parsers for the cgroup counter files attribution reads, v2 and v1. Each throws on a malformed file so
 * the reader can fall back to the process tree with a reason.
 */

/** CgroupVersion: 2 = unified hierarchy, 1 = legacy per-controller hierarchies. */
export type CgroupVersion = 1 | 2;

/** parseFlatKeyed parses 'key value' lines (cpu.stat, memory.stat, cpuacct.stat) into a map of numbers. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const v = Number(line.slice(space + 1).trim());
    if (Number.isFinite(v)) map.set(line.slice(0, space), v);
  }
  return map;
}

/** parseCpuStatUsageMicros returns usage_usec from a v2 cpu.stat: the cgroup's CPU time in µs. */
export function parseCpuStatUsageMicros(text: string): number {
  const v = parseFlatKeyed(text).get('usage_usec');
  // A v1 cpu.stat (nr_periods, nr_throttled, throttled_time) has no usage: that is the v1/v2 mix case.
  if (v === undefined) throw new Error('cpu.stat has no usage_usec line (a cgroup v1 cpu.stat?)');
  return v;
}

/** parseSingleInteger reads a one-number file (cpuacct.usage in ns, memory.current and memory.usage_in_bytes in bytes). */
export function parseSingleInteger(text: string, what: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new Error(`${what}: expected one integer, got ${JSON.stringify(t.slice(0, 40))}`);
  return Number(t);
}

/** parseCpuacctStatTicks returns user + system from a v1 cpuacct.stat, in clock ticks (USER_HZ). */
export function parseCpuacctStatTicks(text: string): number {
  const map = parseFlatKeyed(text);
  const user = map.get('user');
  const system = map.get('system');
  if (user === undefined || system === undefined) throw new Error('cpuacct.stat lacks user or system');
  return user + system;
}

/**
 * workingSetBytes is the memory a cgroup holds that the kernel cannot simply drop: usage minus inactive file
 * cache (the kubelet's working set). v2 names the key inactive_file; v1's hierarchical total is
 * total_inactive_file. Usage alone would charge a job for page cache that MemAvailable counts as free.
 */
export function workingSetBytes(usageBytes: number, memoryStatText: string | undefined, version: CgroupVersion): number {
  if (memoryStatText === undefined) return usageBytes;
  const stat = parseFlatKeyed(memoryStatText);
  const inactive = stat.get(version === 2 ? 'inactive_file' : 'total_inactive_file') ?? stat.get('inactive_file') ?? 0;
  return Math.max(0, usageBytes - inactive);
}
