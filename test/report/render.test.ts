import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { asciiChart } from '../../src/report/ascii-chart.js';
import { formatCo2eKg, formatDuration, formatKwh, formatPue, formatUtc, sig } from '../../src/report/format.js';
import { HOURLY_EDGE_ROWS, renderReport, type ReportFormat } from '../../src/report/render.js';
import { demoReport, longReport } from './report-fixture.js';

const goldenDir = fileURLToPath(new URL('../fixtures/report/', import.meta.url));
const update = process.env.UPDATE_GOLDEN === '1';

/** golden compares text with test/fixtures/report/NAME; UPDATE_GOLDEN=1 rewrites the file instead. */
function golden(name: string, actual: string): void {
  const path = `${goldenDir}${name}`;
  if (update) {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  if (!existsSync(path)) throw new Error(`missing golden file ${path}: run with UPDATE_GOLDEN=1 to create it`);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

describe('number formatting', () => {
  it.each([
    [1289.376, 4, '1,289'], [0.000352, 3, '0.000352'], [552951, 3, '553,000'], [3.61568, 4, '3.616'],
    [0.5, 4, '0.5'], [0, 3, '0'], [-1234.5, 3, '-1,230'], [99999, 3, '100,000'], [1e-7, 2, '0.0000001'],
  ])('sig(%d, %d) = %s', (x, n, s) => expect(sig(x, n)).toBe(s));

  it('units switch at 1,000', () => {
    expect(formatKwh(999.94)).toBe('999.9 kWh');
    expect(formatKwh(1_289_376)).toBe('1,289 MWh');
    expect(formatCo2eKg(1.23456)).toBe('1.23 kg');
    expect(formatCo2eKg(0.00010019)).toBe('0.1 g');
    expect(formatKwh(0.0002087)).toBe('0.2087 Wh');
    expect(formatKwh(0)).toBe('0 kWh');
    expect(formatCo2eKg(553_142.3)).toBe('553,000 kg (553 t)');
    expect(formatPue(1.1)).toBe('1.10');
    expect(formatPue(1.135)).toBe('1.135');
    expect(formatDuration(9000)).toBe('2h 30m 00s');
    expect(formatDuration(45.4)).toBe('45s');
    expect(formatDuration(725)).toBe('12m 05s');
    expect(formatDuration(30 * 86400 + 3723)).toBe('30d 01h 02m');
    expect(formatUtc('2026-03-01T10:30:00.123Z')).toBe('2026-03-01 10:30:00Z');
  });
});

describe('asciiChart', () => {
  it('draws columns from zero to the maximum', () => {
    expect(asciiChart([1, 2, 3, 4], { width: 10, height: 4, unit: 'W' })).toBe(
      ['4 W |   #', '    |  ##', '    | ###', '0 W |####', '    +----'].join('\n'),
    );
  });
  it('averages into width buckets and shows any positive value', () => {
    expect(asciiChart([100, 100, 0.5, 0.5, 0, 0], { width: 3, height: 2, unit: 'kW' })).toBe(
      ['100 kW |#', '  0 kW |##', '       +---'].join('\n'),
    );
  });
  it('says when there is nothing to draw', () => {
    expect(asciiChart([], { width: 10, height: 3, unit: 'W' })).toBe('(no data)');
    expect(asciiChart([Number.NaN], { width: 10, height: 3, unit: 'W' })).toBe('(no data)');
  });
});

describe('renderReport golden files', () => {
  const cases: [ReportFormat, string][] = [['table', 'demo.golden.txt'], ['markdown', 'demo.golden.md'], ['json', 'demo.golden.json'], ['csv', 'demo.golden.csv']];
  it.each(cases)('%s', (format, file) => golden(file, renderReport(demoReport(), format)));
});

describe('renderReport content', () => {
  const report = demoReport();

  it('JSON is the Report object with the keys the issue names', () => {
    const j = JSON.parse(renderReport(report, 'json'));
    expect(j).toEqual(report);
    for (const k of ['runId', 'startedAt', 'endedAt', 'durationSeconds', 'pue']) expect(j).toHaveProperty(k);
    expect(Object.keys(j.energy.byDevice[0]).sort()).toEqual(['avgWatts', 'collector', 'id', 'kind', 'kwh', 'method', 'name', 'nodeKwh']);
    expect(j.intensity).toHaveProperty('avgGramsPerKwh');
    expect(j.co2e).toHaveProperty('marketKg');
  });

  it('table shows the figures a reader checks by hand', () => {
    const t = renderReport(report, 'table');
    expect(t).toContain('IT energy            3.616 kWh');
    expect(t).toContain('Facility energy      3.977 kWh');
    expect(t).toMatch(/gpu0 +gpu +NVIDIA H100 80GB HBM3 +1\.625 +650 +counter/);
    // The Table 4 row is too wide for a terminal, so the table rendering shows it on its side.
    expect(t).toMatch(/Processor +NVIDIA H100 80GB HBM3\nChips +2\nAvg system W per chip +723\nHours +2\.5\nMWh +0\.003977\nPUE +1\.10\nkgCO2e\/kWh +0\.376\nGross tCO2e +0\.0015\nNet tCO2e +0\.00105/);
    expect(t).toContain('Total (3 periods)');
  });

  it('caps a long hourly table at the first and last periods, with a total over all', () => {
    const t = renderReport(longReport(100), 'table');
    const periodRows = t.split('\n').filter((l) => /^2026-03-0\d \d\d:00:00Z/.test(l));
    expect(periodRows).toHaveLength(2 * HOURLY_EDGE_ROWS);
    expect(periodRows[0]).toMatch(/^2026-03-01 00:00:00Z/);
    expect(periodRows.at(-1)).toMatch(/^2026-03-05 03:00:00Z/);
    expect(t).toContain('... 52 more periods (all of them: --format json or csv)');
    expect(t).toMatch(/Total \(100 periods\) +100 +110 +400 +44 +44/);
    const md = renderReport(longReport(100), 'markdown');
    expect(md).toContain('| *... 52 more periods (all of them: --format json or csv)* |');
    expect(renderReport(longReport(100), 'csv').split('\n').filter((l) => l.startsWith('hour,'))).toHaveLength(100);
  });

  it('CSV quotes commas and defuses formulas', () => {
    const r = demoReport();
    r.energy.byDevice[0]!.name = '=HYPERLINK("x"), GPU';
    const line = renderReport(r, 'csv').split('\n').find((l) => l.startsWith('device,gpu0,'))!;
    expect(line).toContain(`"'=HYPERLINK(""x""), GPU"`);
  });

  it('Markdown escapes pipes and marks a running report', () => {
    const r = demoReport();
    r.status = 'running';
    r.labels = { note: 'a|b' };
    const md = renderReport(r, 'markdown');
    expect(md).toContain('| Run | demo-run (running) |');
    expect(md).toContain('| Labels | note=a\\|b |');
  });
});
