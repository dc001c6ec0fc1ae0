/**
 * Finds the jobs on a shared node from the cgroup tree: SLURM jobs (v2 system.slice/slurmstepd.scope/job_<id>,
 * or a SLUID directory on Slurm 26.05+; v1 <cpuacct>/slurm/uid_<uid>/job_<id>), Kubernetes pods (systemd
 * driver kubepods.slice/kubepods[-<qos>.slice]/kubepods[-<qos>]-pod<uid>.slice, cgroupfs driver
 * kubepods[/<qos>]/pod<uid>, v2 or v1), and systemd scopes named on the command line. A few readdirs a tick.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupLayout, CgroupPaths } from './cgroup-reader.js';

/** JobKind is what kind of job a cgroup holds. */
export type JobKind = 'slurm' | 'pod' | 'scope';

/** DiscoveredJob is one job found in the cgroup tree. */
export interface DiscoveredJob {
  /** Stable id used in reports and metric labels: 'slurm-4', 'pod-7a96c459-d529-44ae-9f99-90d3798d6426', 'scope-train'. */
  id: string;
  kind: JobKind;
  /** Its cgroup per hierarchy, as /proc/PID/cgroup prints paths. */
  paths: CgroupPaths;
}

function dirs(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return [];
  }
}

/** slurmJobId turns a slurmstepd.scope child ('job_4', or a SLUID 's5K1KKYAYG5D00') into a job id, 'system' into undefined. */
export function slurmJobId(name: string): string | undefined {
  if (name === 'system') return undefined;
  const m = /^job_(\d+)$/.exec(name);
  return `slurm-${m ? m[1] : name}`;
}

/** podUid reads a pod UID from a kubepods directory name: systemd spells its dashes as '_'. */
export function podUid(name: string): string | undefined {
  const m = /pod([0-9a-fA-F_-]{8,})(?:\.slice)?$/.exec(name);
  return m ? m[1]!.replace(/_/g, '-') : undefined;
}

/** discoverSlurm lists SLURM job cgroups, v2 first; a job found in both hierarchies is listed once. */
export function discoverSlurm(layout: CgroupLayout): DiscoveredJob[] {
  const jobs = new Map<string, DiscoveredJob>();
  if (layout.v2Root) {
    const scope = '/system.slice/slurmstepd.scope';
    for (const name of dirs(join(layout.v2Root, scope))) {
      const id = slurmJobId(name);
      if (id) jobs.set(id, { id, kind: 'slurm', paths: { v2: `${scope}/${name}` } });
    }
  }
  if (layout.cpuV1Root) {
    for (const uid of dirs(join(layout.cpuV1Root, 'slurm')).filter((d) => d.startsWith('uid_'))) {
      for (const job of dirs(join(layout.cpuV1Root, 'slurm', uid))) {
        const m = /^job_(\d+)$/.exec(job);
        if (!m || jobs.has(`slurm-${m[1]}`)) continue;
        const rel = `/slurm/${uid}/${job}`;
        jobs.set(`slurm-${m[1]}`, { id: `slurm-${m[1]}`, kind: 'slurm', paths: { cpuV1: rel, memoryV1: rel } });
      }
    }
  }
  return [...jobs.values()];
}

/** discoverPods lists Kubernetes pod cgroups under both cgroup drivers, v2 first, each pod once. */
export function discoverPods(layout: CgroupLayout): DiscoveredJob[] {
  const pods = new Map<string, DiscoveredJob>();
  const scan = (root: string | undefined, version: 'v2' | 'v1'): void => {
    if (!root) return;
    // systemd driver: guaranteed pods sit directly in kubepods.slice, the others in a QoS slice.
    const sd = 'kubepods.slice';
    const sdParents = [`/${sd}`, ...dirs(join(root, sd)).filter((d) => /^kubepods-[a-z]+\.slice$/.test(d)).map((d) => `/${sd}/${d}`)];
    // cgroupfs driver: kubepods/pod<uid>, kubepods/burstable/pod<uid>, kubepods/besteffort/pod<uid>.
    const fsParents = ['/kubepods', '/kubepods/burstable', '/kubepods/besteffort'];
    for (const parent of [...sdParents, ...fsParents]) {
      for (const name of dirs(join(root, parent))) {
        const uid = podUid(name);
        if (uid === undefined || pods.has(`pod-${uid}`)) continue;
        const rel = `${parent}/${name}`;
        const paths: CgroupPaths = version === 'v2' ? { v2: rel } : { cpuV1: rel, memoryV1: rel };
        pods.set(`pod-${uid}`, { id: `pod-${uid}`, kind: 'pod', paths });
      }
    }
  };
  scan(layout.v2Root, 'v2');
  scan(layout.cpuV1Root, 'v1');
  return [...pods.values()];
}

/** SCOPE_SEARCH_DEPTH bounds the search for a named scope (user.slice/user-1000.slice/user@1000.service/app.slice/x.scope is 5). */
const SCOPE_SEARCH_DEPTH = 6;

/**
 * findScope finds a named cgroup: a path ('system.slice/train.scope') is taken as is; a bare name ('train' or
 * 'train.scope') is searched breadth-first under the root, to SCOPE_SEARCH_DEPTH levels. Returns the path
 * as /proc/PID/cgroup prints it, or undefined.
 */
export function findScope(root: string | undefined, name: string): string | undefined {
  if (!root) return undefined;
  if (name.includes('/')) {
    const rel = '/' + name.replace(/^\/+|\/+$/g, '');
    return isDir(join(root, rel)) ? rel : undefined;
  }
  const wanted = new Set([name, name.endsWith('.scope') ? name : `${name}.scope`]);
  let level = [''];
  for (let depth = 0; depth < SCOPE_SEARCH_DEPTH && level.length > 0; depth++) {
    const next: string[] = [];
    for (const rel of level) {
      for (const d of dirs(join(root, rel))) {
        if (wanted.has(d)) return `${rel}/${d}`;
        next.push(`${rel}/${d}`);
      }
    }
    level = next;
  }
  return undefined;
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** scopeJobId names a scope job: 'scope-' + the unit name without '.scope' and without its slice path. */
export function scopeJobId(name: string): string {
  const base = name.replace(/\/+$/, '').split('/').pop() ?? name;
  return `scope-${base.replace(/\.scope$/, '')}`;
}

/** EnclosingJob is the job-level cgroup a process sits in. */
export interface EnclosingJob {
  kind: 'slurm' | 'pod' | 'container';
  id: string;
  /** The job's cgroup per hierarchy (truncated above the process's own step, task or container). */
  paths: CgroupPaths;
}

const CONTAINER_SCOPE = /^(?:docker|libpod|cri-containerd|crio)-([0-9a-f]{12,})\.scope$/;

/**
 * enclosingJobPath cuts a /proc/PID/cgroup path at the job that holds it: a SLURM job (all its steps), a
 * Kubernetes pod (all its containers), or a container. Undefined for anything else — a login session or a
 * service is shared with processes that are not the job's, so it is never taken as the job.
 */
export function enclosingJobPath(path: string | undefined): { kind: EnclosingJob['kind']; id: string; path: string } | undefined {
  if (path === undefined || path.split('/').includes('..')) return undefined;
  const seg = path.split('/').filter((s) => s !== '');
  const upTo = (i: number): string => '/' + seg.slice(0, i + 1).join('/');
  for (let i = 0; i < seg.length; i++) {
    const s = seg[i]!;
    if (s === 'slurmstepd.scope' && i + 1 < seg.length) {
      const id = slurmJobId(seg[i + 1]!);
      if (id) return { kind: 'slurm', id, path: upTo(i + 1) };
    }
    if (s === 'slurm' && /^uid_\d+$/.test(seg[i + 1] ?? '') && /^job_\d+$/.test(seg[i + 2] ?? '')) {
      return { kind: 'slurm', id: `slurm-${seg[i + 2]!.slice(4)}`, path: upTo(i + 2) };
    }
    if (seg.slice(0, i).some((p) => p.startsWith('kubepods')) || s.startsWith('kubepods-')) {
      const uid = /pod[0-9a-fA-F_-]{8,}/.test(s) ? podUid(s) : undefined;
      if (uid) return { kind: 'pod', id: `pod-${uid}`, path: upTo(i) };
    }
    const container = CONTAINER_SCOPE.exec(s) ?? (seg[i - 1] === 'docker' && /^[0-9a-f]{64}$/.test(s) ? [s, s] : null);
    if (container) return { kind: 'container', id: `container-${container[1]!.slice(0, 12)}`, path: upTo(i) };
  }
  return undefined;
}

/** enclosingJob finds the job cgroup of a process from its parsed /proc/PID/cgroup, v1 cpuacct first (the controller jobs are placed by). */
export function enclosingJob(paths: CgroupPaths): EnclosingJob | undefined {
  const cpu = enclosingJobPath(paths.cpuV1);
  const v2 = enclosingJobPath(paths.v2);
  const found = cpu ?? v2;
  if (!found) return undefined;
  const out: CgroupPaths = {};
  if (v2 && v2.id === found.id) out.v2 = v2.path;
  if (cpu) out.cpuV1 = cpu.path;
  const mem = enclosingJobPath(paths.memoryV1);
  if (mem && mem.id === found.id) out.memoryV1 = mem.path;
  return { kind: found.kind, id: found.id, paths: out };
}
