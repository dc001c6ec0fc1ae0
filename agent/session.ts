import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { dirname, extname, resolve } from 'node:path';
import { detectCloud, type CloudInfo } from './cloud.js';
import type { Collector, CollectorContext } from '../collectors/types.js';
import { ListenError, startLiveServer, type LiveServer } from '../src/exporters/http.js';
import type { JobApi } from '../src/exporters/job-api.js';
import { pushFinalTotals } from '../src/exporters/pushgateway.js';
import { renderReport, type ReportFormat } from '../src/report/render.js';
import type { Report } from '../src/report/types.js';
import { Store } from '../src/store/store.js';
import { awaitFirstFetch, setupCarbon, type CarbonFlags } from './carbon-setup.js';
import { DeferredJobApi } from './deferred-job-api.js';
import { pendingSnapshot } from './pending-snapshot.js';
import { faultCollectors, faultLines, faultNotes, pendingStatuses, probeFaults, type ProbeFault } from './probe-faults.js';
import { assertNotTrackedElsewhere } from './resume.js';
import type { Snapshot } from '../src/snapshot.js';
import { RunBusyError, UsageError } from './errors.js';
import { defaultDbPath, embodiedSettings, type EmbodiedFlags } from './options.js';
import { saveEmbodiedSettings } from '../src/store/embodied.js';
import type { ListenAddress } from './parse.js';
import { checkCollectorNames, checkRequestedGpus, selectCollectors } from './select-collectors.js';
import { Tracker, type TickParticipant } from './tracker.js';
import { isStorageFailure } from './pending-writes.js';
import { openStore } from './open-store.js';
import { collectorContext } from './collector-context.js';

/** TrackingFlags are the parsed options of `run` and `agent`. */
export interface TrackingFlags extends CarbonFlags, EmbodiedFlags {
  db?: string;
  interval: number;
  runId?: string;
  label?: Record<string, string>;
  listen: ListenAddress | false;
  /** True when --listen was not given (flag, env or config): a taken default port falls back to a free one. */
  listenIsDefault?: boolean;
  token?: string;
  /** A line to print before starting: the token was given in argv, where `ps` shows it. */
  tokenWarning?: string;
  tokenFile?: string;
  insecure?: boolean;
  allowedHost?: string[];
  pushgateway?: string;
  expectedDuration?: number;
  reportFile?: string;
  sampleRetention: number;
  quiet?: boolean;
  collectors?: string[];
  collector?: string[];
  dropCollector?: string[];
  gpus?: string[];
  sysfs: string;
  procfs: string;
  nvidiaSmi: string;
  nvmlLibrary: string;
  metadataUrl?: string;
  cpuTdp?: number;
  simDevices?: number;
  attribution?: 'auto' | 'process-tree' | 'cgroup' | 'node';
  idleAttribution?: 'proportional' | 'none';
  cgroup?: string;
  cgroupRoot?: string;
}

/** Session is a started tracker with its store and live server. */
export interface Session {
  tracker: Tracker;
  /** The job API the tracker answers (phases, progress, work), for the live server and the job's socket. */
  job: JobApi;
  /** The collectors tracking the run, and the context they were probed with (attribution reads them). */
  collectors: Collector[];
  ctx: CollectorContext;
  store: Store;
  server?: LiveServer;
  cloud?: CloudInfo;
  finish(exitCode?: number): Promise<Report>;
}

/** defaultRunId takes the scheduler's job id when there is one, else a time-stamped random id. */
export function defaultRunId(env: NodeJS.ProcessEnv, now = new Date()): string {
  if (env.SLURM_JOB_ID) return `slurm-${env.SLURM_JOB_ID}${env.SLURM_ARRAY_TASK_ID ? `_${env.SLURM_ARRAY_TASK_ID}` : ''}`;
  if (env.TORCHELASTIC_RUN_ID && env.TORCHELASTIC_RUN_ID !== 'none') return `torchelastic-${env.TORCHELASTIC_RUN_ID}`;
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export { collectorContext };

/**
 * PendingSession is a session whose run id, store, live server and job API are ready but whose collectors are
 * not yet probed: `run` starts the job here and lets start() probe beside it, so no probe holds the job up.
 */
export interface PendingSession {
  runId: string;
  resumed: boolean;
  store: Store;
  server?: LiveServer;
  cloud?: CloudInfo;
  /** The job API, answering at once: calls before the tracker exists are kept and replayed to it in order. */
  job: JobApi;
  /** The live snapshot: the tracker's once it runs, before that the run with no devices yet. */
  getSnapshot(): Snapshot;
  /**
   * start probes the collectors (each within 2 s), waits for a fetching intensity source (≤ 3 s), starts tracking;
   * `startedAtMs` (the job's spawn) dates a new run from the job's start, not from the end of probing.
   */
  start(startedAtMs?: number): Promise<Session>;
}

/** SessionExtras are what a command adds to its tracker: `agent`'s per-job accounts, made once the collectors are known. */
export interface SessionExtras {
  participant?: (collectors: Collector[], ctx: CollectorContext) => TickParticipant | undefined;
}

/** startSession prepares and starts a session in one go (`agent`: nothing waits on it). */
export async function startSession(flags: TrackingFlags, env: NodeJS.ProcessEnv, command?: string, extras: SessionExtras = {}): Promise<Session> {
  return (await prepareSession(flags, env, command, extras)).start();
}

/**
 * prepareSession does what must be settled before a job starts, all of it quick: the flags (a bad zone or
 * intensity file is refused before anything runs), the store, the run id and the live server. Probing the
 * collectors and the intensity API's first answer are left to start().
 */
export async function prepareSession(flags: TrackingFlags, env: NodeJS.ProcessEnv, command?: string, extras: SessionExtras = {}): Promise<PendingSession> {
  if (flags.tokenWarning && !flags.quiet) process.stderr.write(`wattprint: ${flags.tokenWarning}\n`);
  if (flags.reportFile) checkWritable(flags.reportFile);
  checkCollectorNames(flags.collectors, flags.dropCollector ?? []);
  const ctx = collectorContext(flags, env);
  const cloud = await detectCloud({ sysfsRoot: flags.sysfs, metadataUrl: flags.metadataUrl, env });
  const store = flags.db ? openStore(flags.db) : openStore(defaultDbPath(env), true);
  let server: LiveServer | undefined;
  try {
    const carbon = await setupCarbon(flags, { cloud, env, cache: store.intensityCache(), firstFetchMs: 0 });
    const runId = chooseRunId(store, flags, env);
    const pending = pendingSnapshot({
      runId, hostname: hostname(), labels: flags.label ?? {}, intervalSeconds: flags.interval, startedAtMs: Date.now(), carbon,
      collectors: pendingStatuses(flags.collectors),
    });
    let tracker: Tracker | undefined;
    const job = new DeferredJobApi();
    const getSnapshot = (): Snapshot => tracker?.snapshot ?? pending;
    // GPUs named with --gpus are checked before the job starts: a list naming GPUs this node lacks would track
    // the wrong devices, so it is a usage error, not a job that runs on untracked. Probing is bounded (2 s each).
    let early: Awaited<ReturnType<typeof selectCollectors>> | undefined;
    if (flags.gpus) {
      early = await selectCollectors(ctx, flags.collectors, flags.dropCollector ?? []);
      try {
        const warning = checkRequestedGpus(flags.gpus, early.probes);
        if (warning && !flags.quiet) process.stderr.write(`wattprint: ${warning}\n`);
      } catch (err) {
        for (const c of early.collectors) c.close();
        throw err;
      }
    }
    if (flags.listen) server = await serveLive(flags, getSnapshot, job);
    const live = server;
    const start = async (startedAtMs?: number): Promise<Session> => {
      let faults: ProbeFault[] = [];
      let collectors: Collector[] = [];
      try {
        if (carbon.fetching) await awaitFirstFetch(carbon.fetching, 3000);
        const selection = early ?? await selectCollectors(ctx, flags.collectors, flags.dropCollector ?? []);
        collectors = selection.collectors;
        if (collectors.length === 0) {
          throw new UsageError('no power source found and no model applies: run `wattprint doctor` to see why, or pass --collectors cpu,ram');
        }
        faults = probeFaults(selection, flags.collectors);
        for (const line of faultLines(faults)) process.stderr.write(`${line}\n`);
        const participant = extras.participant?.(collectors, ctx);
        try {
          tracker = new Tracker({
            store, runId, hostname: hostname(), labels: flags.label ?? {}, command,
            intervalSeconds: flags.interval, pue: carbon.pue, zone: carbon.zone, intensity: carbon.intensity, market: carbon.market,
            collectors: [...collectors, ...faultCollectors(faults)], sampleRetentionSeconds: flags.sampleRetention,
            expectedDurationSeconds: flags.expectedDuration, ...(startedAtMs !== undefined ? { startedAtMs } : {}), onTick: (tick) => live?.publishTick(tick), participant,
          });
        } catch (err) {
          if (isStorageFailure(err)) throw new UsageError(`cannot write to the database ${store.path}: ${(err as Error).message}; free space, or pass --db on another filesystem`);
          throw err;
        }
        job.attach(jobApiOf(tracker));
        live?.publishEvent({ type: 'run_start', runId: tracker.run.runId, at: tracker.snapshot.startedAt });
        // Stored with the run before its first tick, so every report of it (the final one included) amortises the same way.
        const embodied = embodiedSettings(flags);
        if (embodied) saveEmbodiedSettings(store.db, tracker.run.runKey, embodied);
        await tracker.start();
      } catch (err) {
        // Collectors not yet handed to a tracker (a --gpus check failed, say) are closed here: their streams end.
        if (!tracker) for (const c of collectors) c.close();
        await abandonTracker(store, live, tracker);
        throw err;
      }
      const started = tracker;
      const finish = async (exitCode?: number): Promise<Report> => {
        const report = await started.stop(exitCode);
        report.notes.push(...faultNotes(faults));
        live?.publish(started.snapshot);
        live?.publishEvent({ type: 'run_end', runId: started.run.runId, at: report.endedAt });
        await live?.close();
        await afterRun(flags, started, report);
        store.close();
        return report;
      };
      return { tracker: started, job, collectors, ctx, store, server: live, cloud, finish };
    };
    return { runId, resumed: store.findRun(runId) !== undefined, store, server, cloud, job, getSnapshot, start };
  } catch (err) {
    await server?.close();
    store.close();
    throw err;
  }
}

/** abandonTracker leaves the store as it found it when a session never ticked, and closes the server and store. */
async function abandonTracker(store: Store, server: LiveServer | undefined, tracker: Tracker | undefined): Promise<void> {
  await server?.close();
  // A session that never ticked leaves the store as it found it: a new run is removed, a closed one closed again.
  if (tracker && tracker.snapshot.tick === 0) {
    const previous = tracker.previous;
    if (!tracker.resumed) store.discardRun(tracker.run.runKey);
    else if (previous?.status === 'ended') store.endRun(tracker.run.runKey, previous.endedAtMs ?? previous.lastTickMs, previous.exitCode);
  }
  store.close();
}

/** serveLive starts the live server; a taken default port falls back to a free one, said on stderr. */
async function serveLive(flags: TrackingFlags, getSnapshot: () => Snapshot, job: JobApi): Promise<LiveServer> {
  const listen = flags.listen as ListenAddress;
  const serve = (port: number) => startLiveServer({
    host: listen.host, port, token: flags.token, insecure: flags.insecure, allowedHosts: flags.allowedHost, getSnapshot, job,
  });
  return serve(listen.port).catch(async (err: unknown) => {
    // The default port taken (an agent on this node, another job) must not stop a job from being tracked:
    // take a free port and say where. A port the user chose is theirs to fix.
    if (err instanceof ListenError && err.code === 'EADDRINUSE' && flags.listenIsDefault) {
      const fallback = await serve(0);
      if (!flags.quiet) process.stderr.write(`wattprint: port ${listen.port} is in use; serving on ${fallback.url}/ instead\n`);
      return fallback;
    }
    if (err instanceof ListenError) throw new UsageError(err.message);
    throw err;
  });
}

/**
 * chooseRunId picks the run id. When it came from the scheduler (not --run-id) and a live process here already
 * tracks it — the node agent of a SLURM job, say — this command is tracked under its own id instead of being
 * refused, and says so: the job must run either way.
 */
function chooseRunId(store: Store, flags: TrackingFlags, env: NodeJS.ProcessEnv): string {
  const runId = flags.runId ?? defaultRunId(env);
  const existing = store.findRun(runId);
  try {
    if (existing) assertNotTrackedElsewhere(existing, hostname());
    return runId;
  } catch (err) {
    if (!(err instanceof RunBusyError) || flags.runId) throw err;
    const own = `${runId}.${process.pid}`;
    if (!flags.quiet) process.stderr.write(`wattprint: run ${runId} is tracked by process ${err.ownerPid} on this host; tracking this command as ${own}\n`);
    return own;
  }
}

/**
 * jobApiOf answers the job's calls with the tracker: phase edges, work counters, and progress as a fraction
 * or steps of a total (the projection's source says which).
 */
export function jobApiOf(tracker: Tracker): JobApi {
  return {
    phase: (e) => {
      if (e.work) tracker.reportWork(e.work, { atLeast: true });
      return e.event === 'start' ? tracker.startPhase(e.id, e.name, e.atMs) : tracker.endPhase(e.id, e.atMs);
    },
    progress: (p) => {
      const work = { ...(p.step !== undefined ? { steps: p.step } : {}), ...(p.samples !== undefined ? { samples: p.samples } : {}), ...(p.tokens !== undefined ? { tokens: p.tokens } : {}) };
      if (Object.keys(work).length) tracker.reportWork(work);
      if (p.fraction !== undefined) tracker.setProgress(p.fraction, 'POST /api/progress fraction');
      else if (p.step !== undefined && p.totalSteps !== undefined) tracker.setProgress(p.step / p.totalSteps, 'POST /api/progress steps');
    },
  };
}

async function afterRun(flags: TrackingFlags, tracker: Tracker, report: Report): Promise<void> {
  if (flags.reportFile) writeReportFile(flags.reportFile, report);
  if (flags.pushgateway) {
    try {
      await pushFinalTotals(flags.pushgateway, tracker.snapshot);
    } catch (err) {
      process.stderr.write(`wattprint: ${(err as Error).message}\n`);
    }
  }
}

/** announce prints where the run is tracked and served (one line on stderr). */
export function announce(session: { runId: string; resumed: boolean; server?: LiveServer }): void {
  const where = session.server ? `; live at ${session.server.dashboardUrl} (metrics ${session.server.url}/metrics)` : '';
  process.stderr.write(`wattprint: tracking run ${session.runId}${session.resumed ? ' (resumed)' : ''}${where}\n`);
}

/** checkWritable refuses a --report-file that could not be written, before the job starts rather than after. */
function checkWritable(path: string): void {
  const dir = dirname(resolve(path));
  try {
    if (existsSync(path) && statSync(path).isDirectory()) throw new Error('it is a folder');
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? `folder ${dir} does not exist` : (err as NodeJS.ErrnoException).code === 'EACCES' ? `folder ${dir} is not writable` : (err as Error).message;
    throw new UsageError(`cannot write --report-file ${path}: ${why}; pass a writable path`);
  }
}

/** reportFormatForPath picks the report format from a file name: .json, .md, .csv, else text. */
export function reportFormatForPath(path: string): ReportFormat {
  const ext = extname(path).toLowerCase();
  return ext === '.json' ? 'json' : ext === '.md' ? 'markdown' : ext === '.csv' ? 'csv' : 'table';
}

function writeReportFile(path: string, report: Report): void {
  try {
    writeFileSync(path, renderReport(report, reportFormatForPath(path)));
  } catch (err) {
    process.stderr.write(`wattprint: cannot write --report-file ${path}: ${(err as Error).message}; the run is stored: \`wattprint report ${report.runId}\`\n`);
  }
}
