/**
 * Pure parsers for the per-process procfs files attribution reads: /proc/PID/stat, /proc/PID/cgroup, and the
 * node-wide /proc/meminfo, /proc/uptime and /proc/self/auxv. No I/O here; process-tree.ts does the reading.
 */

/**
 * PidStat holds the /proc/PID/stat fields attribution uses. CPU times are clock ticks (USER_HZ, 100 per
 * second on Linux); childTicks is the cutime+cstime of children the process has waited for.
 */
export interface PidStat {
  pid: number;
  state: string;
  ppid: number;
  session: number;
  /** utime + stime: every thread of the process, user and system, in clock ticks. */
  ownTicks: number;
  /** cutime + cstime: children reaped by this process (each counting its own reaped children), in ticks. */
  childTicks: number;
  /** Start time in clock ticks since boot: with the pid, names one process across pid reuse. */
  startTicks: number;
  /** Resident set in pages (field 24). */
  rssPages: number;
}

/** A counter that is negative or past 2^53 (the kthread fixture prints INT64_MIN) counts as 0. */
const counter = (v: number): number => (Number.isSafeInteger(v) && v >= 0 ? v : 0);

/**
 * parsePidStat parses one /proc/PID/stat line. comm (field 2) may hold spaces and parentheses, so fields are
 * counted from the LAST ')'. Throws on a line that is not a stat line.
 */
export function parsePidStat(text: string): PidStat {
  const close = text.lastIndexOf(')');
  const open = text.indexOf('(');
  if (open < 0 || close < open) throw new Error(`not a /proc/PID/stat line: ${JSON.stringify(text.slice(0, 60))}`);
  const pid = Number(text.slice(0, open).trim());
  const end = text.indexOf('\n', close);
  // f[0] is field 3 (state); field n is f[n - 3].
  const f = text.slice(close + 2, end < 0 ? undefined : end).trim().split(' ');
  if (f.length < 22 || !Number.isSafeInteger(pid)) throw new Error(`short /proc/PID/stat line (${f.length + 2} fields)`);
  const n = (field: number): number => Number(f[field - 3]);
  return {
    pid,
    state: f[0]!,
    ppid: n(4),
    session: n(6),
    ownTicks: counter(n(14)) + counter(n(15)),
    childTicks: counter(n(16)) + counter(n(17)),
    startTicks: counter(n(22)),
    rssPages: counter(n(24)),
  };
}

/**
 * parsePidStatBytes is parsePidStat on the raw bytes of a pread, without building strings: the tree reads
 * every member's stat each tick. Returns false when the bytes are not a complete stat line.
 */
export function parsePidStatBytes(buf: Uint8Array, length: number, out: PidStat): boolean {
  let close = -1;
  for (let i = length - 1; i >= 0; i--) {
    if (buf[i] === 0x29 /* ) */) {
      close = i;
      break;
    }
  }
  if (close < 0 || close + 2 >= length) return false;
  let pid = 0;
  for (let i = 0; i < length && buf[i] !== 0x20; i++) pid = pid * 10 + (buf[i]! - 0x30);
  out.pid = pid;
  out.state = String.fromCharCode(buf[close + 2]!);
  // Walk fields 4..24; each is an optionally signed decimal integer separated by one space.
  let field = 3;
  let i = close + 2;
  let own = 0;
  let child = 0;
  while (field < 24) {
    while (i < length && buf[i] !== 0x20) i++;
    i++;
    field++;
    if (i >= length) return false;
    let negative = false;
    if (buf[i] === 0x2d /* - */) {
      negative = true;
      i++;
    }
    let v = 0;
    while (i < length && buf[i]! >= 0x30 && buf[i]! <= 0x39) v = v * 10 + (buf[i++]! - 0x30);
    const c = negative || !Number.isSafeInteger(v) ? 0 : v;
    switch (field) {
      case 4: out.ppid = negative ? -v : v; break;
      case 6: out.session = negative ? -v : v; break;
      case 14: case 15: own += c; break;
      case 16: case 17: child += c; break;
      case 22: out.startTicks = c; break;
      case 24: out.rssPages = c; break;
    }
  }
  out.ownTicks = own;
  out.childTicks = child;
  return true;
}

/** emptyPidStat is a scratch PidStat for parsePidStatBytes. */
export function emptyPidStat(): PidStat {
  return { pid: 0, state: '?', ppid: 0, session: 0, ownTicks: 0, childTicks: 0, startTicks: 0, rssPages: 0 };
}

/** ProcCgroup is a parsed /proc/PID/cgroup: the v2 path ('0::' line) and each v1 controller's path. */
export interface ProcCgroup {
  unified?: string;
  /** v1 controller → path; 'cpu,cpuacct' lines give both 'cpu' and 'cpuacct'; 'name=systemd' is kept as is. */
  controllers: Map<string, string>;
}

/** parseProcCgroup parses /proc/PID/cgroup ("hierarchy-ID:controller-list:path" per line). */
export function parseProcCgroup(text: string): ProcCgroup {
  const result: ProcCgroup = { controllers: new Map() };
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const list = line.slice(first + 1, second);
    const path = line.slice(second + 1).trimEnd();
    if (line.slice(0, first) === '0' && list === '') result.unified = path;
    else for (const c of list.split(',')) if (c) result.controllers.set(c, path);
  }
  return result;
}

/** cpuCgroupPath is the cgroup a process's CPU time is counted in: v1 cpuacct (or cpu) if bound, else the v2 path. */
export function cpuCgroupPath(cg: ProcCgroup): string | undefined {
  return cg.controllers.get('cpuacct') ?? cg.controllers.get('cpu') ?? cg.unified;
}

/** Meminfo holds the /proc/meminfo lines attribution uses, in bytes (the file prints kB = KiB). */
export interface Meminfo {
  memTotalBytes: number;
  /** MemTotal − MemAvailable: memory in use that the kernel cannot reclaim (page cache left out). */
  memUsedBytes: number;
}

/**
 * parseMeminfo reads MemTotal and MemAvailable; kernels before 3.14 lack MemAvailable, where
 * MemFree + Buffers + Cached stands in for it. Throws when MemTotal is missing.
 */
export function parseMeminfo(text: string): Meminfo {
  const kib = (key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const total = kib('MemTotal');
  if (total === undefined) throw new Error('no "MemTotal: N kB" line in meminfo');
  const available = kib('MemAvailable') ?? (kib('MemFree') ?? 0) + (kib('Buffers') ?? 0) + (kib('Cached') ?? 0);
  return { memTotalBytes: total, memUsedBytes: Math.max(0, total - Math.min(total, available)) };
}

/** parseUptimeSeconds reads the first number of /proc/uptime: seconds since boot (the clock of starttime). */
export function parseUptimeSeconds(text: string): number {
  const v = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`bad /proc/uptime: ${JSON.stringify(text.slice(0, 40))}`);
  return v;
}

/** AT_PAGESZ is the auxiliary-vector key of the system page size (elf.h). */
const AT_PAGESZ = 6;

/** parseAuxvPageSize finds AT_PAGESZ in /proc/self/auxv (64-bit little-endian key/value pairs); undefined if absent. */
export function parseAuxvPageSize(auxv: Buffer): number | undefined {
  for (let off = 0; off + 16 <= auxv.length; off += 16) {
    const key = Number(auxv.readBigUInt64LE(off));
    if (key === 0) break;
    if (key === AT_PAGESZ) {
      const v = Number(auxv.readBigUInt64LE(off + 8));
      return v > 0 && (v & (v - 1)) === 0 ? v : undefined;
    }
  }
  return undefined;
}
