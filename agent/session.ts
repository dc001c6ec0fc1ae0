import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { dirname, extname, resolve } from 'node:path';
import { detectCloud, type CloudInfo } from './cloud.js';
import type { Collector, CollectorContext } from '../collectors/types.js';
import type { LiveServer } from '../src/exporters/http.js';
import type { JobApi } from '../src/exporters/job-api.js';
import type { ReportFormat } from '../src/report/render.js';
import type { Report } from '../src/report/types.js';
import { Store } from '../src/store/store.js';
import { setupCarbon, type CarbonFlags } from './carbon-setup.js';
import { RunBusyError, UsageError } from './errors.js';
import { defaultDbPath } from './options.js';
import type { ListenAddress } from './parse.js';
import { selectCollectors } from './select-collectors.js';
import { Tracker } from './tracker.js';
import { isStorageFailure } from './pending-writes.js';
import { openStore } from './open-store.js';
import { collectorContext } from './collector-context.js';

export { collectorContext };

/** TrackingFlags are the parsed options of `run` and `agent`. */
export interface TrackingFlags extends CarbonFlags {
  db?: string;
  interval: number;
  runId?: string;
  label?: Record<string, string>;
  listen: ListenAddress | false;
  /** True when --listen was not given (flag, env or config): a taken default port falls back to a free one. */
  listenIsDefault?: boolean;
  token?: string;
  insecure?: boolean;
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

/** startSession opens the store, probes collectors, resolves carbon factors, starts tracking and serving. */
export async function startSession(flags: TrackingFlags, env: NodeJS.ProcessEnv, command?: string): Promise<Session> {
  if (flags.reportFile) checkWritable(flags.reportFile);
  const ctx = collectorContext(flags, env);
  const cloud = await detectCloud({ sysfsRoot: flags.sysfs, metadataUrl: flags.metadataUrl, env });
  const store = flags.db ? openStore(flags.db) : openStore(defaultDbPath(env), true);
  let server: LiveServer | undefined;
  let tracker: Tracker | undefined;
  try {
    const carbon = await setupCarbon(flags, { cloud, env, cache: store.intensityCache(), firstFetchMs: 3000 });
    const selection = await selectCollectors(ctx, flags.collectors, flags.dropCollector ?? []);
    if (selection.collectors.length === 0) {
      throw new UsageError('no power source found and no model applies: run `wattprint doctor` to see why, or pass --collectors cpu,ram');
    }
    const trackerFor = (runId: string) => new Tracker({
      store, runId, hostname: hostname(), labels: flags.label ?? {}, command,
      intervalSeconds: flags.interval, pue: carbon.pue, zone: carbon.zone, intensity: carbon.intensity, market: carbon.market,
      collectors: selection.collectors, sampleRetentionSeconds: flags.sampleRetention, expectedDurationSeconds: flags.expectedDuration,
      onTick: (tick) => server?.publishTick(tick),
    });
    try {
      tracker = startTracker(trackerFor, flags, env);
    } catch (err) {
      if (isStorageFailure(err)) throw new UsageError(`cannot write to the database ${store.path}: ${(err as Error).message}; free space, or pass --db on another filesystem`);
      throw err;
    }
    if (flags.listen) {
      // The server (and ws, the dashboard's assets) is loaded only when something will be served.
      const { ListenError, startLiveServer } = await import('../src/exporters/http.js');
      const live = tracker;
      const serve = (port: number) => startLiveServer({
        host: flags.listen ? flags.listen.host : '127.0.0.1', port, token: flags.token, insecure: flags.insecure,
        getSnapshot: () => live.snapshot,
        job: jobApiOf(live),
      });
      server = await serve(flags.listen.port).catch(async (err: unknown) => {
        // The default port taken (an agent on this node, another job) must not stop a job from being tracked:
        // take a free port and say where. A port the user chose is theirs to fix.
        if (err instanceof ListenError && err.code === 'EADDRINUSE' && flags.listenIsDefault) {
          const fallback = await serve(0);
          if (!flags.quiet) process.stderr.write(`wattprint: port ${(flags.listen as ListenAddress).port} is in use; serving on ${fallback.url}/ instead\n`);
          return fallback;
        }
        if (err instanceof ListenError) throw new UsageError(err.message);
        throw err;
      });
      server.publishEvent({ type: 'run_start', runId: tracker.run.runId, at: tracker.snapshot.startedAt });
    }
    await tracker.start();
    const started = tracker;
    const finish = async (exitCode?: number): Promise<Report> => {
      const report = await started.stop(exitCode);
      server?.publish(started.snapshot);
      server?.publishEvent({ type: 'run_end', runId: started.run.runId, at: report.endedAt });
      await server?.close();
      await afterRun(flags, started, report);
      store.close();
      return report;
    };
    return { tracker: started, job: jobApiOf(started), collectors: selection.collectors, ctx, store, server, cloud, finish };
  } catch (err) {
    await server?.close();
    // A session that never ticked leaves the store as it found it: a new run is removed, a closed one closed again.
    if (tracker && tracker.snapshot.tick === 0) {
      const previous = tracker.previous;
      if (!tracker.resumed) store.discardRun(tracker.run.runKey);
      else if (previous?.status === 'ended') store.endRun(tracker.run.runKey, previous.endedAtMs ?? previous.lastTickMs, previous.exitCode);
    }
    store.close();
    throw err;
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

/**
 * startTracker creates the tracker. When the run id came from the scheduler (not --run-id) and a live
 * process here already tracks it — the node agent of a SLURM job, say — this command is tracked under its
 * own id instead of being refused, and says so: the job must run either way.
 */
function startTracker(make: (runId: string) => Tracker, flags: TrackingFlags, env: NodeJS.ProcessEnv): Tracker {
  const runId = flags.runId ?? defaultRunId(env);
  try {
    return make(runId);
  } catch (err) {
    if (!(err instanceof RunBusyError) || flags.runId) throw err;
    const own = `${runId}.${process.pid}`;
    if (!flags.quiet) process.stderr.write(`wattprint: run ${runId} is tracked by process ${err.ownerPid} on this host; tracking this command as ${own}\n`);
    return make(own);
  }
}

async function afterRun(flags: TrackingFlags, tracker: Tracker, report: Report): Promise<void> {
  if (flags.reportFile) await writeReportFile(flags.reportFile, report);
  if (flags.pushgateway) {
    try {
      const { pushFinalTotals } = await import('../src/exporters/pushgateway.js');
      await pushFinalTotals(flags.pushgateway, tracker.snapshot);
    } catch (err) {
      process.stderr.write(`wattprint: ${(err as Error).message}\n`);
    }
  }
}

/** announce prints where the run is tracked and served (one line on stderr). */
export function announce(session: Session): void {
  const t = session.tracker;
  const where = session.server ? `; live at ${session.server.url}/ (metrics ${session.server.url}/metrics)` : '';
  process.stderr.write(`wattprint: tracking run ${t.run.runId}${t.resumed ? ' (resumed)' : ''}${where}\n`);
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

async function writeReportFile(path: string, report: Report): Promise<void> {
  const { renderReport } = await import('../src/report/render.js');
  try {
    writeFileSync(path, renderReport(report, reportFormatForPath(path)));
  } catch (err) {
    process.stderr.write(`wattprint: cannot write --report-file ${path}: ${(err as Error).message}; the run is stored: \`wattprint report ${report.runId}\`\n`);
  }
}
