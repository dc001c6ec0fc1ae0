/** ProcessTree's accounting on a scripted procfs: forks, exits, re-parenting, pid reuse, the agent as reaper. */
import { describe, expect, it } from 'vitest';
import type { PidStat } from '../../../collectors/lib/proc-pid.js';
import type { ProcSource } from '../../../collectors/lib/proc-source.js';
import { ProcessTree } from '../../../collectors/lib/process-tree.js';

interface FakeProcess {
  ppid: number;
  session: number;
  own: number;
  child: number;
  start: number;
  rss: number;
  cgroup: string;
}

/** FakeProcfs is a node whose processes the test forks, runs, exits and reaps; times in ticks (100 Hz). */
class FakeProcfs implements ProcSource {
  readonly procs = new Map<number, FakeProcess>();
  uptimeTicks = 100_000;
  statReads: number[] = [];
  lastFailure: ProcSource['lastFailure'];

  spawn(pid: number, ppid: number, over: Partial<FakeProcess> = {}): void {
    const parent = this.procs.get(ppid);
    this.procs.set(pid, {
      ppid, session: parent?.session ?? ppid, own: 0, child: 0, start: this.uptimeTicks, rss: 100, cgroup: parent?.cgroup ?? '/', ...over,
    });
  }
  run(pid: number, ticks: number): void {
    this.procs.get(pid)!.own += ticks;
  }
  /** exit ends pid; its parent reaps it (adding its whole life to cutime) unless reapedBy says otherwise. */
  exit(pid: number, reapedBy?: number): void {
    const p = this.procs.get(pid)!;
    this.procs.delete(pid);
    const reaper = this.procs.get(reapedBy ?? p.ppid);
    if (reaper) reaper.child += p.own + p.child;
  }
  /** orphan re-parents pid to init, as when its parent exits. */
  orphan(pid: number): void {
    this.procs.get(pid)!.ppid = 1;
  }
  advance(ticks: number): void {
    this.uptimeTicks += ticks;
  }

  listPids(): number[] {
    return [...this.procs.keys()];
  }
  readStat(pid: number, out: PidStat): boolean {
    this.statReads.push(pid);
    const p = this.procs.get(pid);
    if (!p) {
      this.lastFailure = 'missing';
      return false;
    }
    Object.assign(out, { pid, state: 'R', ppid: p.ppid, session: p.session, ownTicks: p.own, childTicks: p.child, startTicks: p.start, rssPages: p.rss });
    return true;
  }
  readCgroup(pid: number): string | undefined {
    const p = this.procs.get(pid);
    return p ? `0::${p.cgroup}\n` : undefined;
  }
  uptimeSeconds(): number {
    return this.uptimeTicks / 100;
  }
  forget(): void {}
  close(): void {}
}

/** node makes init (1), an unrelated shell (50, session 50) and the job root (100) leading its own session 100. */
function node(): FakeProcfs {
  const fs = new FakeProcfs();
  fs.spawn(1, 0, { session: 1 });
  fs.spawn(50, 1, { session: 50 });
  fs.spawn(100, 50, { session: 100 });
  return fs;
}

describe('ProcessTree', () => {
  it('the first sample is a baseline; later ones charge only the job\'s processes', () => {
    const fs = node();
    const tree = new ProcessTree(fs, { rootPid: 100 });
    fs.run(100, 500);
    expect(tree.sample()).toEqual({ cpuTicks: 0, rssBytes: 100 * 4096, processes: 1, rootAlive: true, lateFound: 0 });
    fs.run(100, 70);
    fs.run(50, 1000); // the shell that started it is not the job
    expect(tree.sample().cpuTicks).toBe(70);
  });

  it('a forked worker is charged from its birth, and its own children too', () => {
    const fs = node();
    const tree = new ProcessTree(fs, { rootPid: 100 });
    tree.sample();
    fs.advance(100);
    // Listed out of order (grandchild's pid below its parent's after wraparound): still the job's.
    fs.spawn(205, 100);
    fs.spawn(203, 205);
    fs.run(205, 40);
    fs.run(203, 25);
    fs.run(100, 10);
    const s = tree.sample();
    expect(s.cpuTicks).toBe(75);
    expect(s.processes).toBe(3);
    expect(tree.memberPids().sort()).toEqual([100, 203, 205]);
  });

  it('a worker born and reaped between two samples is charged through its parent\'s cutime', () => {
    const fs = node();
    const tree = new ProcessTree(fs, { rootPid: 100 });
    tree.sample();
    fs.spawn(300, 100);
    fs.run(300, 90);
    fs.exit(300);
    expect(tree.sample().cpuTicks).toBe(90);
  });

  it('a worker seen alive and then reaped is charged exactly once (its parent pays off the debt)', () => {
    const fs = node();
    const tree = new ProcessTree(fs, { rootPid: 100 });
    tree.sample();
    fs.spawn(300, 100);
    fs.spawn(301, 300);
    fs.run(300, 40);
    fs.run(301, 30);
    let charged = tree.sample().cpuTicks;
    expect(charged).toBe(70);
    fs.run(300, 5); // last interval of each, never seen alive
    fs.run(301, 7);
    fs.exit(301);
    fs.exit(300); // the worker reaped its child, then the root reaps the worker
    fs.run(100, 3);
    charged += tree.sample().cpuTicks;
    expect(charged).toBe(40 + 30 + 5 + 7 + 3);
    expect(tree.sample().cpuTicks).toBe(0);
  });

  it('a double-forked worker re-parented to init stays the job\'s; one born orphaned is found through the session', () => {
    const fs = node();
    const tree = new ProcessTree(fs, { rootPid: 100 });
    tree.sample();
    fs.spawn(400, 100);
    fs.spawn(401, 400);
    tree.sample();
    fs.exit(400);
    fs.orphan(401);
    fs.run(401, 60);
    expect(tree.sample().cpuTicks).toBe(60);
    // Forked and orphaned between two samples: ppid is 1 at first sight; the session gives it away.
    fs.spawn(500, 100);
    fs.spawn(501, 500);
    fs.exit(500);
    fs.orphan(501);
    fs.run(501, 33);
    expect(tree.sample().cpuTicks).toBe(33);
    expect(tree.isMember(501)).toBe(true);
  });

  it('the session is not followed when the root does not lead its own (it would take the shell\'s session)', () => {
    const fs = new FakeProcfs();
    fs.spawn(1, 0, { session: 1 });
    fs.spawn(50, 1, { session: 50 });
    fs.spawn(100, 50); // inherits session 50
    fs.spawn(60, 50); // another command of the same shell
    const tree = new ProcessTree(fs, { rootPid: 100 });
    tree.sample();
    fs.run(60, 100);
    fs.spawn(600, 50); // started by the shell later: same session, not the job
    fs.run(600, 100);
    expect(tree.sample().cpuTicks).toBe(0);
    expect(tree.isMember(600)).toBe(false);
  });

  it('follows the job\'s cgroup for a worker that left the session (setsid daemon)', () => {
    const fs = node();
    fs.procs.get(100)!.cgroup = '/system.slice/train.scope';
    const tree = new ProcessTree(fs, { rootPid: 100, cgroupPath: '/system.slice/train.scope' });
    tree.sample();
    fs.spawn(700, 100);
    fs.spawn(701, 700, { session: 701 });
    fs.exit(700);
    fs.orphan(701);
    fs.run(701, 45);
    fs.spawn(702, 1, { session: 702, cgroup: '/system.slice/other.service' });
    fs.run(702, 99);
    expect(tree.sample().cpuTicks).toBe(45);
    expect(tree.isMember(702)).toBe(false);
  });

  it('a process moved into the job\'s cgroup long after it started is not charged for its past', () => {
    const fs = node();
    fs.procs.get(100)!.cgroup = '/job';
    fs.spawn(800, 1, { session: 800, cgroup: '/elsewhere', own: 5000 });
    fs.advance(1000);
    const tree = new ProcessTree(fs, { rootPid: 100, cgroupPath: '/job' });
    tree.sample();
    fs.advance(100);
    // 800 is cached as not the job's; a new pid with an old start time is what "moved in" looks like.
    fs.spawn(801, 1, { session: 801, cgroup: '/job', own: 7000, start: 50_000 });
    const s = tree.sample();
    expect(s.cpuTicks).toBe(0);
    expect(s.lateFound).toBe(1);
    fs.run(801, 20);
    expect(tree.sample().cpuTicks).toBe(20);
  });

  it('a member\'s pid reused by another process is not charged, and the new one is judged afresh', () => {
    const fs = node();
    const tree = new ProcessTree(fs, { rootPid: 100 });
    fs.spawn(900, 100);
    tree.sample();
    fs.run(900, 10);
    fs.procs.delete(900); // exits, reaped by init (re-parented first): lost, at most one tick
    fs.advance(50);
    fs.spawn(900, 50, { session: 50, own: 300 }); // same pid, the shell's new command
    expect(tree.sample().cpuTicks).toBe(0);
    expect(tree.isMember(900)).toBe(false);
  });

  it('the agent that reaps the root pays for the root\'s last interval, and nothing of its other children', () => {
    const fs = new FakeProcfs();
    fs.spawn(1, 0, { session: 1 });
    fs.spawn(10, 1, { session: 10 }); // the agent
    fs.spawn(100, 10, { session: 100 });
    const tree = new ProcessTree(fs, { rootPid: 100, reaperPid: 10, cpuCount: 2 });
    tree.sample();
    fs.advance(100);
    fs.run(100, 50);
    expect(tree.sample().cpuTicks).toBe(50);
    fs.advance(100);
    fs.run(100, 20); // its last 20 ticks are never seen alive
    fs.exit(100);
    const last = tree.sample();
    expect(last.cpuTicks).toBe(20);
    expect(last.rootAlive).toBe(false);
    // A later child of the agent (nvidia-smi, say) is not the job's.
    fs.advance(100);
    fs.spawn(110, 10);
    fs.run(110, 80);
    fs.exit(110);
    expect(tree.sample().cpuTicks).toBe(0);
  });

  it('what the agent reaps beside the root in the same tick counts at most all CPUs over the interval', () => {
    const fs = new FakeProcfs();
    fs.spawn(1, 0, { session: 1 });
    fs.spawn(10, 1, { session: 10 });
    fs.spawn(100, 10, { session: 100 });
    const tree = new ProcessTree(fs, { rootPid: 100, reaperPid: 10, cpuCount: 2 });
    tree.sample();
    fs.advance(25); // a quarter of a second: two CPUs could do 50 ticks
    fs.run(100, 10);
    fs.exit(100);
    fs.spawn(110, 10);
    fs.run(110, 300); // another child of the agent, long-lived, reaped in the same tick
    fs.exit(110);
    expect(tree.sample().cpuTicks).toBe(50);
  });

  it('reads only the job\'s stat files on a tick, not the node\'s', () => {
    const fs = node();
    for (let pid = 2000; pid < 2300; pid++) fs.spawn(pid, 1, { session: pid });
    const tree = new ProcessTree(fs, { rootPid: 100 });
    tree.sample();
    fs.statReads = [];
    tree.sample();
    expect(fs.statReads).toEqual([100]);
  });

  it('probeRoot says why the root cannot be read', () => {
    const fs = node();
    expect(new ProcessTree(fs, { rootPid: 100 }).probeRoot()).toEqual({ ok: true });
    expect(new ProcessTree(fs, { rootPid: 4242 }).probeRoot()).toEqual({ ok: false, why: 'no such process' });
  });
});
