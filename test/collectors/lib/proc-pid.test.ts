/** The procfs and cgroup file parsers, on real captures (../shared/fixtures/cgroups, see SOURCES.md) and edge cases. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  cpuCgroupPath, emptyPidStat, parseAuxvPageSize, parseMeminfo, parsePidStat, parsePidStatBytes, parseProcCgroup, parseUptimeSeconds,
} from '../../../collectors/lib/proc-pid.js';
import {
  parseCpuacctStatTicks, parseCpuStatUsageMicros, parseFlatKeyed, parseSingleInteger, workingSetBytes,
} from '../../../collectors/lib/cgroup-files.js';
import { cgroupPathsOf } from '../../../collectors/lib/cgroup-reader.js';
import { enclosingJob, enclosingJobPath, podUid, slurmJobId } from '../../../collectors/lib/cgroup-discovery.js';

const shared = fileURLToPath(new URL('../../../../shared/fixtures/cgroups/', import.meta.url));
// Absent shared fixtures skip the suite locally; under CI they must be there.
const describeShared = existsSync(shared) || process.env.CI === 'true' ? describe : describe.skip;
const cap = (file: string) => readFileSync(join(shared, file), 'latin1');

/** bytesOf parses a stat line through the allocation-free path. */
function bytesOf(text: string) {
  const buf = Buffer.from(text, 'latin1');
  const out = emptyPidStat();
  expect(parsePidStatBytes(buf, buf.length, out)).toBe(true);
  return out;
}

describeShared('/proc/PID/stat on real captures', () => {
  // [file, pid, ppid, session, utime+stime, cutime+cstime, starttime, rss pages]
  const cases: Array<[string, number, number, number, number, number, number, number]> = [
    ['procfs__proc-26231__stat.txt', 26231, 5392, 5392, 1677 + 44, 158 + 99, 82375, 1981],
    ['kepler__proc-3456208__stat.txt', 3456208, 3456165, 3456208, 572479 + 27124, 0, 633412975, 426889],
    ['kepler__proc-3538317__stat__nginx-master.txt', 3538317, 3538315, 3538317, 0, 0, 684822150, 1372],
    ['kepler__proc-3538344__stat__nginx-worker.txt', 3538344, 3538317, 3538317, 1 + 2, 0, 684822160, 683],
    ['kepler__proc-43251__stat__qemu.txt', 43251, 1, 43250, 143592 + 25589, 0, 281058, 150185],
    // comm '(a b ) ( c d) ' holds spaces and parentheses: fields count from the last ')'.
    ['procfs__proc-584__stat__comm-with-parens.txt', 1020, 28378, 28378, 0, 0, 10839175, 155],
    // A kernel thread printing INT64_MIN/INT64_MAX in cutime/cstime: those count as 0.
    ['procfs__proc-26232__stat__kthread.txt', 33, 2, 0, 0, 0, 5, 0],
  ];
  it.each(cases)('%s', (file, pid, ppid, session, own, child, start, rss) => {
    const text = cap(file);
    const expected = { pid, ppid, session, ownTicks: own, childTicks: child, startTicks: start, rssPages: rss };
    expect(parsePidStat(text)).toMatchObject(expected);
    expect(bytesOf(text)).toMatchObject(expected);
  });
});

describe('/proc/PID/stat edge cases', () => {
  it('rejects what is not a stat line', () => {
    expect(() => parsePidStat('hello')).toThrow(/not a \/proc\/PID\/stat line/);
    expect(() => parsePidStat('12 (x) S 1 2 3')).toThrow(/short/);
    const out = emptyPidStat();
    const b = Buffer.from('12 (x) S 1 2');
    expect(parsePidStatBytes(b, b.length, out)).toBe(false);
  });
});

describeShared('/proc/PID/cgroup on real captures', () => {
  it('pure v2 (SLURM task) and hybrid lines', () => {
    expect(parseProcCgroup(cap('cgroup_exporter__proc-49276__cgroup__slurm-v2-task.txt')).unified)
      .toBe('/system.slice/slurmstepd.scope/job_4/step_0/user/task_0');
    const hybrid = parseProcCgroup(cap('elastic-agent-system-metrics__ubuntu1804__proc-3757__cgroup__hybrid.txt'));
    expect(hybrid.unified).toBe('/system.slice/networkd-dispatcher.service');
    expect(hybrid.controllers.get('cpuacct')).toBe('/system.slice/networkd-dispatcher.service');
    expect(hybrid.controllers.get('name=systemd')).toBe('/system.slice/networkd-dispatcher.service');
  });

  it('v1 SLURM job on a hybrid host: cpu is the job, the session scope is not', () => {
    const cg = parseProcCgroup(cap('ceems__proc-46231__cgroup__slurm-v1-hybrid.txt'));
    expect(cpuCgroupPath(cg)).toBe('/slurm/uid_1000/job_4824887');
    expect(enclosingJob(cgroupPathsOf(cg))).toEqual({
      kind: 'slurm', id: 'slurm-4824887', paths: { cpuV1: '/slurm/uid_1000/job_4824887', memoryV1: '/slurm/uid_1000/job_4824887' },
    });
  });

  it('finds the job cgroup of SLURM v2, EKS (systemd driver), GKE (cgroupfs driver) and container processes', () => {
    const of = (file: string) => enclosingJob(cgroupPathsOf(parseProcCgroup(cap(file))));
    expect(of('cgroup_exporter__proc-49276__cgroup__slurm-v2-task.txt')).toEqual({
      kind: 'slurm', id: 'slurm-4', paths: { v2: '/system.slice/slurmstepd.scope/job_4' },
    });
    expect(of('elastic-agent-system-metrics__amzn2-eks__proc-493239__cgroup.txt')).toMatchObject({
      kind: 'pod', id: 'pod-7a96c459-d529-44ae-9f99-90d3798d6426',
      paths: { cpuV1: '/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7a96c459_d529_44ae_9f99_90d3798d6426.slice' },
    });
    expect(of('container-info__proc-self-cgroup__gke-kubepods-besteffort-cgroupfs.txt')).toMatchObject({
      kind: 'pod', id: 'pod-74c13223-5a00-11e9-b385-42010a80018d', paths: { cpuV1: '/kubepods/besteffort/pod74c13223-5a00-11e9-b385-42010a80018d' },
    });
    expect(of('kepler__proc-3456208__cgroup__docker-scope.txt')).toMatchObject({ kind: 'container', id: 'container-b176419186d7' });
    expect(of('elastic-agent-system-metrics__docker__proc-985__cgroup__v1-docker.txt')).toMatchObject({ kind: 'container', id: 'container-b29faf21b7ef' });
  });

  it('never takes a login session, a service, slurmstepd itself or a cgroupns-relative path as the job', () => {
    const of = (file: string) => enclosingJob(cgroupPathsOf(parseProcCgroup(cap(file))));
    expect(of('cgroup_exporter__proc-67998__cgroup__user-session-scope.txt')).toBeUndefined();
    expect(of('cgroup_exporter__proc-43310__cgroup__slurmstepd-infinity.txt')).toBeUndefined();
    expect(of('kepler__proc-43251__cgroup__user-tmux-scope.txt')).toBeUndefined();
    expect(of('elastic-agent-system-metrics__amzn2-eks__proc-1__cgroup.txt')).toBeUndefined();
    expect(of('elastic-agent-system-metrics__docker2__proc-2233801__cgroup__cgroupns-relative.txt')).toBeUndefined();
  });
});

describe('job names', () => {
  it('slurm ids from job_<id> and SLUID directories; pod UIDs with systemd underscores', () => {
    expect(slurmJobId('job_3385')).toBe('slurm-3385');
    expect(slurmJobId('s5K1KKYAYG5D00')).toBe('slurm-s5K1KKYAYG5D00');
    expect(slurmJobId('system')).toBeUndefined();
    expect(podUid('kubepods-burstable-pod7a96c459_d529_44ae_9f99_90d3798d6426.slice')).toBe('7a96c459-d529-44ae-9f99-90d3798d6426');
    expect(enclosingJobPath('/kubepods.slice/kubepods-pod0a1b2c3d_0000_4000_8000_000000000001.slice/cri-containerd-ab.scope'))
      .toEqual({ kind: 'pod', id: 'pod-0a1b2c3d-0000-4000-8000-000000000001', path: '/kubepods.slice/kubepods-pod0a1b2c3d_0000_4000_8000_000000000001.slice' });
  });
});

describeShared('cgroup counter files on real captures', () => {
  it('v2 cpu.stat usage_usec and memory.current (SLURM job 4)', () => {
    expect(parseCpuStatUsageMicros(cap('cgroup_exporter__slurm-v2__job_4__cpu.stat'))).toBe(126686);
    expect(parseSingleInteger(cap('cgroup_exporter__slurm-v2__job_4__memory.current'), 'memory.current')).toBe(5660672);
    const stat = cap('cgroup_exporter__slurm-v2__job_4__memory.stat');
    const inactive = parseFlatKeyed(stat).get('inactive_file')!;
    expect(workingSetBytes(5660672, stat, 2)).toBe(5660672 - inactive);
    expect(parseCpuStatUsageMicros(cap('elastic-agent-system-metrics__ubuntu1804__unified-service__cpu.stat'))).toBeGreaterThan(0);
  });

  it('v1 cpuacct.usage (ns), cpuacct.stat (ticks) and memory.usage_in_bytes (SLURM job 11)', () => {
    expect(parseSingleInteger(cap('cgroup_exporter__slurm-v1__job_11__cpuacct.usage'), 'cpuacct.usage')).toBe(33146523011972);
    expect(parseCpuacctStatTicks(cap('cgroup_exporter__slurm-v1__job_11__cpuacct.stat'))).toBe(3313561 + 9571);
    expect(parseSingleInteger(cap('cgroup_exporter__slurm-v1__job_11__memory.usage_in_bytes'), 'memory.usage_in_bytes')).toBe(6126714880);
    const stat = cap('cgroup_exporter__slurm-v1__job_11__memory.stat');
    expect(workingSetBytes(6126714880, stat, 1)).toBe(6126714880 - parseFlatKeyed(stat).get('total_inactive_file')!);
  });

  it('a v1 cpu.stat (no usage fields) is refused: the v1/v2 mix case', () => {
    expect(() => parseCpuStatUsageMicros(cap('elastic-agent-system-metrics__amzn2-eks__cri-containerd-scope__cpu.stat'))).toThrow(/usage_usec/);
  });
});

describe('node files', () => {
  it('meminfo: used = MemTotal − MemAvailable, or MemTotal − (MemFree + Buffers + Cached) on old kernels', () => {
    const text = readFileSync(fileURLToPath(new URL('../../fixtures/procfs/xeon-2s/meminfo', import.meta.url)), 'latin1');
    expect(parseMeminfo(text)).toEqual({ memTotalBytes: 16777216 * 1024, memUsedBytes: (16777216 - 14000000) * 1024 });
    expect(parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n')).toEqual({ memTotalBytes: 1024000, memUsedBytes: 600 * 1024 });
    expect(() => parseMeminfo('MemFree: 1 kB')).toThrow(/MemTotal/);
  });

  it('uptime and the page size from this process\'s auxv', () => {
    expect(parseUptimeSeconds('574.62 700.34\n')).toBe(574.62);
    expect(() => parseUptimeSeconds('x')).toThrow();
    expect(parseAuxvPageSize(readFileSync('/proc/self/auxv'))).toBe(4096);
    const auxv = Buffer.alloc(48);
    auxv.writeBigUInt64LE(16n, 0); // AT_HWCAP first; AT_NULL (0) ends the vector
    auxv.writeBigUInt64LE(6n, 16);
    auxv.writeBigUInt64LE(65536n, 24);
    expect(parseAuxvPageSize(auxv)).toBe(65536);
    expect(parseAuxvPageSize(Buffer.alloc(16))).toBeUndefined();
  });
});
