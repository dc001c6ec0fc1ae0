/**
 * ProcessTree follows a job's processes from its root pid and measures their CPU time and resident memory
 * each tick. A process is the job's when it is the root, when its parent is (at the moment it is first seen),
 * when it shares the root's session (only if the root leads its own session, so a shell's session is never
 * taken), or when it sits in the job's cgroup (if one is given). Once the job's, always the job's, until it
 * exits: a worker that double-forks and is re-parented to init stays counted.
 *
 * Per tick: one readdir of procfs; a pread of each member's stat; nothing for the other processes of the node,
 * which are read once when first seen (pid → start time, parent, member or not) and then skipped.
 *
 * CPU time per member is utime+stime plus cutime+cstime (children it has reaped). That way a worker that
 * lives and dies between two ticks is still charged: its whole life lands in its parent's cutime. To avoid
 * charging twice what was already counted while the worker was alive, a member that exits leaves a debt (its
 * last-seen total) on its reaper — its nearest live ancestor in the job, or the agent that spawned the root —
 * which the reaper's next increase pays off first.
 */
import { emptyPidStat, parseProcCgroup, cpuCgroupPath, type PidStat } from './proc-pid.js';
import type { ProcSource } from './proc-source.js';

/** ProcessTreeOptions: the root and what else makes a process the job's. */
export interface ProcessTreeOptions {
  rootPid: number;
  /** Follow the root's session for re-parented workers when the root leads its own session (default true). */
  followSession?: boolean;
  /** A cgroup path as /proc/PID/cgroup prints it ('/system.slice/job.scope'): its processes are the job's. */
  cgroupPath?: string;
  /**
   * The pid that will reap the root (the agent that spawned it): its cutime jump when it reaps the root catches
   * the root's last interval. Its other children (nvidia-smi) reaped in the same tick would be counted too, so
   * the catch is capped at what the node's CPUs could have done since the previous sample.
   */
  reaperPid?: number;
  /** CPUs of the node, for that cap (default 1 when unset: the cap is then one CPU-interval). */
  cpuCount?: number;
  /** Page size for RSS, bytes (default 4096). */
  pageSizeBytes?: number;
  /** Clock ticks per second of stat's times (USER_HZ, default 100). */
  clockTicksPerSecond?: number;
}

/** TreeSample is one tick of the tree. */
export interface TreeSample {
  /** CPU time the job used since the previous sample, in clock ticks; 0 on the first (baseline) sample. */
  cpuTicks: number;
  /** Resident memory of the live members now, bytes (shared pages count once per process). */
  rssBytes: number;
  /** Live members now. */
  processes: number;
  rootAlive: boolean;
  /** Members found this tick that already existed at the previous one (not charged for their past). */
  lateFound: number;
}

interface Entry {
  member: boolean;
  startTicks: number;
  ppid: number;
  /** own + child ticks at the last read (members). */
  totalTicks: number;
  rssPages: number;
  /** Ticks already counted for reaped members, to be taken off this process's next increases. */
  debtTicks: number;
  debtTtl: number;
}

/** DEBT_TICKS is how many samples a reaper's debt waits for the reaped child's time to show in its cutime. */
const DEBT_TICKS = 3;

/** ProcessTree measures one job's process tree from a ProcSource. */
export class ProcessTree {
  private readonly entries = new Map<number, Entry>();
  private readonly scratch: PidStat = emptyPidStat();
  private readonly pageSizeBytes: number;
  private readonly clockTicksPerSecond: number;
  private rootStartTicks?: number;
  private session?: number;
  private sampled = false;
  private lastUptimeSeconds?: number;
  private reaper?: { childTicks: number; debtTicks: number; debtTtl: number };

  constructor(
    private readonly source: ProcSource,
    private readonly options: ProcessTreeOptions,
  ) {
    this.pageSizeBytes = options.pageSizeBytes ?? 4096;
    this.clockTicksPerSecond = options.clockTicksPerSecond ?? 100;
  }

  /** rootReadable says whether the root's stat can be read now (probe time); the failure kind when not. */
  probeRoot(): { ok: true } | { ok: false; why: string } {
    const s = emptyPidStat();
    if (this.source.readStat(this.options.rootPid, s, false)) return { ok: true };
    return { ok: false, why: this.source.lastFailure === 'denied' ? 'permission denied' : 'no such process' };
  }

  /** memberPids lists the job's live processes as of the last sample. */
  memberPids(): number[] {
    const pids: number[] = [];
    for (const [pid, e] of this.entries) if (e.member) pids.push(pid);
    return pids;
  }

  /** isMember says whether pid was one of the job's live processes at the last sample. */
  isMember(pid: number): boolean {
    return this.entries.get(pid)?.member === true;
  }

  /** sample reads the tree once; see TreeSample. */
  sample(): TreeSample {
    const uptime = this.source.uptimeSeconds();
    const listed = this.source.listPids();
    const present = new Set(listed);
    const vanished = new Map<number, Entry>();
    const alive: Array<[Entry, number]> = [];
    for (const [pid, e] of this.entries) {
      if (!present.has(pid)) {
        if (e.member) vanished.set(pid, e);
        this.drop(pid);
        continue;
      }
      if (!e.member) continue;
      // Gone (reaped after the readdir), or a new process under the same pid: the old member has exited, and
      // the pid is looked at again below as a newcomer.
      if (!this.source.readStat(pid, this.scratch, true) || this.scratch.startTicks !== e.startTicks) {
        vanished.set(pid, e);
        this.drop(pid);
        continue;
      }
      const total = this.scratch.ownTicks + this.scratch.childTicks;
      alive.push([e, Math.max(0, total - e.totalTicks)]);
      e.totalTicks = total;
      e.ppid = this.scratch.ppid;
      e.rssPages = this.scratch.rssPages;
    }
    const reaperRaw = this.readReaper();
    this.settleDebts(vanished);
    let cpuTicks = 0;
    for (const [e, raw] of alive) cpuTicks += payDebt(e, raw);
    if (this.reaper) {
      // The agent reaps other children too (nvidia-smi): its growth counts only while it owes for the root,
      // and no more than all CPUs for the whole interval.
      const owed = this.reaper.debtTtl > 0;
      const counted = payDebt(this.reaper, reaperRaw);
      const elapsed = uptime !== undefined && this.lastUptimeSeconds !== undefined ? uptime - this.lastUptimeSeconds : undefined;
      const cap = elapsed === undefined ? Infinity : Math.max(0, elapsed) * (this.options.cpuCount ?? 1) * this.clockTicksPerSecond;
      if (owed) cpuTicks += Math.min(counted, cap);
    }
    const { charged, lateFound } = this.adoptNewcomers(listed);
    cpuTicks += charged;

    let rssPages = 0;
    let processes = 0;
    for (const e of this.entries.values()) {
      if (!e.member) continue;
      rssPages += e.rssPages;
      processes++;
    }
    const first = !this.sampled;
    this.sampled = true;
    if (uptime !== undefined) this.lastUptimeSeconds = uptime;
    return {
      cpuTicks: first ? 0 : cpuTicks,
      rssBytes: rssPages * this.pageSizeBytes,
      processes,
      rootAlive: this.isMember(this.options.rootPid),
      lateFound: first ? 0 : lateFound,
    };
  }

  private drop(pid: number): void {
    this.entries.delete(pid);
    this.source.forget(pid);
  }

  /** readReaper returns the growth of the reaper's cutime+cstime since the last sample (0 without a reaper). */
  private readReaper(): number {
    const pid = this.options.reaperPid;
    if (pid === undefined) return 0;
    if (!this.source.readStat(pid, this.scratch, true)) return 0;
    const child = this.scratch.childTicks;
    if (!this.reaper) {
      this.reaper = { childTicks: child, debtTicks: 0, debtTtl: 0 };
      return 0;
    }
    const raw = Math.max(0, child - this.reaper.childTicks);
    this.reaper.childTicks = child;
    return raw;
  }

  /**
   * settleDebts puts each exited member's last-seen total on the process that reaped it: its nearest ancestor
   * still alive in the job (through parents that exited in the same tick), or the agent. A member orphaned to
   * init is reaped outside the job: its time since the last tick is lost (at most one tick of one process).
   */
  private settleDebts(vanished: Map<number, Entry>): void {
    for (const e of vanished.values()) {
      let ppid = e.ppid;
      for (let hops = 0; hops < 64; hops++) {
        const parent = this.entries.get(ppid);
        if (parent?.member) {
          addDebt(parent, e.totalTicks);
          break;
        }
        if (ppid === this.options.reaperPid && this.reaper) {
          addDebt(this.reaper, e.totalTicks);
          break;
        }
        const gone = vanished.get(ppid);
        if (!gone) break;
        ppid = gone.ppid;
      }
    }
  }

  /**
   * adoptNewcomers reads each pid not seen before and decides whether it is the job's. A new member born
   * after the previous sample is charged its whole CPU time; one that already existed (found late, e.g. moved
   * into the job's cgroup) only from now on.
   */
  private adoptNewcomers(listed: number[]): { charged: number; lateFound: number } {
    const fresh: Array<[number, PidStat]> = [];
    for (const pid of listed) {
      if (this.entries.has(pid)) continue;
      const s = emptyPidStat();
      // Kept open provisionally: a new member is read again next tick; others are closed right after.
      if (this.source.readStat(pid, s, true)) fresh.push([pid, s]);
    }
    const { rootPid, followSession = true, cgroupPath } = this.options;
    const rootStat = fresh.find(([pid]) => pid === rootPid);
    if (rootStat && this.rootStartTicks === undefined) {
      this.rootStartTicks = rootStat[1].startTicks;
      if (followSession && rootStat[1].session === rootPid) this.session = rootPid;
    }
    const children = new Map<number, number[]>();
    for (const [pid, s] of fresh) {
      const list = children.get(s.ppid);
      if (list) list.push(pid);
      else children.set(s.ppid, [pid]);
    }
    const joined = new Set<number>();
    const queue: number[] = [];
    const join = (pid: number): void => {
      if (joined.has(pid)) return;
      joined.add(pid);
      queue.push(pid);
    };
    for (const [pid, s] of fresh) {
      const isRoot = pid === rootPid && s.startTicks === this.rootStartTicks;
      if (isRoot || this.entries.get(s.ppid)?.member || (this.session !== undefined && s.session === this.session)) join(pid);
    }
    if (cgroupPath !== undefined) {
      for (const [pid] of fresh) {
        if (joined.has(pid)) continue;
        const text = this.source.readCgroup(pid);
        const path = text === undefined ? undefined : cpuCgroupPath(parseProcCgroup(text));
        if (path !== undefined && (path === cgroupPath || path.startsWith(cgroupPath + '/'))) join(pid);
      }
    }
    // Descendants of a newcomer member are members too, whatever order readdir listed them in.
    for (let i = 0; i < queue.length; i++) for (const child of children.get(queue[i]!) ?? []) join(child);

    let charged = 0;
    let lateFound = 0;
    const bornAfter = this.lastUptimeSeconds;
    for (const [pid, s] of fresh) {
      const member = joined.has(pid);
      const total = s.ownTicks + s.childTicks;
      this.entries.set(pid, {
        member, startTicks: s.startTicks, ppid: s.ppid, totalTicks: total, rssPages: s.rssPages, debtTicks: 0, debtTtl: 0,
      });
      if (!member) {
        this.source.forget(pid);
        continue;
      }
      // Started before the previous sample (half a second of slack for the two clocks' reads): not born in
      // this tick, so its past is not this tick's. Without uptime every newcomer counts as born in the tick.
      const late = bornAfter !== undefined && s.startTicks / this.clockTicksPerSecond < bornAfter - 0.5;
      if (late) lateFound++;
      else charged += total;
    }
    return { charged, lateFound };
  }
}

function addDebt(e: { debtTicks: number; debtTtl: number }, ticks: number): void {
  e.debtTicks += ticks;
  e.debtTtl = DEBT_TICKS;
}

/**
 * payDebt returns the part of raw growth that is new CPU time, after paying off the process's debt. A debt is
 * settled by the first growth that covers it; one not covered within DEBT_TICKS samples is dropped (the child
 * was waited for elsewhere, or not at all).
 */
function payDebt(e: { debtTicks: number; debtTtl: number }, raw: number): number {
  if (e.debtTtl <= 0) return raw;
  const paid = Math.min(raw, e.debtTicks);
  e.debtTicks -= paid;
  // Growth that covers the whole debt means the reaped child's time has arrived: the debt is settled.
  if (raw > 0 && e.debtTicks === 0) e.debtTtl = 0;
  else if (--e.debtTtl <= 0) e.debtTicks = 0;
  return raw - paid;
}
