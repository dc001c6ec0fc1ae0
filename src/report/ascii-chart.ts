import { sig } from './format.js';

/** AsciiChartOptions sizes the chart in characters and names the unit on the y axis. */
export interface AsciiChartOptions {
  width: number;
  height: number;
  unit: string;
}

/**
 * asciiChart draws values (oldest first) as a column chart of '#' from 0 to the maximum, in plain ASCII
 * so it survives logs, e-mail and Markdown code blocks. More values than columns are averaged into
 * `width` buckets; fewer use one column each. Any positive value shows at least one '#'.
 */
export function asciiChart(values: number[], opts: AsciiChartOptions): string {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0 || opts.width < 1 || opts.height < 1) return '(no data)';
  const columns = bucketMeans(finite, Math.min(Math.floor(opts.width), finite.length));
  const max = Math.max(...columns);
  const levels = columns.map((v) => (max > 0 && v > 0 ? Math.max(1, Math.round((v / max) * opts.height)) : 0));
  const top = `${sig(max, 3)} ${opts.unit}`;
  const bottom = `0 ${opts.unit}`;
  const labelWidth = Math.max(top.length, bottom.length);
  const lines: string[] = [];
  for (let row = opts.height; row >= 1; row--) {
    const label = row === opts.height ? top : row === 1 ? bottom : '';
    const bars = levels.map((l) => (l >= row ? '#' : ' ')).join('');
    lines.push(`${label.padStart(labelWidth)} |${bars}`.trimEnd());
  }
  lines.push(`${' '.repeat(labelWidth)} +${'-'.repeat(columns.length)}`);
  return lines.join('\n');
}

/** bucketMeans splits values into n consecutive buckets of near-equal size and averages each. */
function bucketMeans(values: number[], n: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < n; b++) {
    const from = Math.floor((b * values.length) / n);
    const to = Math.floor(((b + 1) * values.length) / n);
    let sum = 0;
    for (let i = from; i < to; i++) sum += values[i]!;
    out.push(sum / (to - from));
  }
  return out;
}
