import { PrometheusQueryError } from '../../src/sources/prometheus-query.js';
import { PrometheusReportError, reportFromPrometheus, type PrometheusReportOptions } from '../../src/sources/prometheus-report.js';
import { renderReport } from '../../src/report/render.js';
import { UsageError } from '../errors.js';
import type { ReportFormat } from '../../src/report/render.js';

/** ReportPrometheusFlags are the options of `wattprint report --prometheus URL --run-id ID`. */
export interface ReportPrometheusFlags {
  prometheus: string;
  runId: string;
  format: ReportFormat;
}

/**
 * reportPrometheusCommand prints the job-level report of a run (all nodes' agents with that run id) built
 * from Prometheus's HTTP API to stdout and returns the exit code. Bad flags are usage errors (exit 2); an
 * unreachable Prometheus or an unknown run is one line on stderr and exit 1.
 */
export async function reportPrometheusCommand(flags: ReportPrometheusFlags, opts: PrometheusReportOptions = {}): Promise<number> {
  let url: URL;
  try {
    url = new URL(flags.prometheus);
  } catch {
    throw new UsageError(`--prometheus '${flags.prometheus}' is not a URL: give the Prometheus server, e.g. --prometheus http://127.0.0.1:9090`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--prometheus '${flags.prometheus}' is not an http(s) URL: give the Prometheus server, e.g. --prometheus http://127.0.0.1:9090`);
  }
  if (!flags.runId) {
    throw new UsageError('--prometheus needs --run-id: the run id every node\'s agent was started with (e.g. slurm-4242)');
  }
  try {
    const report = await reportFromPrometheus(flags.prometheus, flags.runId, opts);
    process.stdout.write(renderReport(report, flags.format));
    return 0;
  } catch (err) {
    if (err instanceof PrometheusQueryError || err instanceof PrometheusReportError) throw new UsageError(err.message, 1);
    throw err;
  }
}
