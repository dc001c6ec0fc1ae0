import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { asciiChart } from '../../src/report/ascii-chart.js';
import { fixed, formatCo2eKg, formatDuration, formatEnergyJoules, formatKwh, formatMassGrams, formatPue, formatUtc, formatWatts, sig } from '../../src/report/format.js';
import { HOURLY_EDGE_ROWS, renderReport, type ReportFormat } from '../../src/report/render.js';
import { demoReport, longReport, scaledReport } from './report-fixture.js';

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

  it('SI prefixes fit the value, 4 significant figures for energy and 3 for mass and power', () => {
    expect(formatKwh(999.94)).toBe('999.9 kWh');
    expect(formatKwh(999.96)).toBe('1.000 MWh'); // rounding carries to the next prefix, not to '1000 kWh'
    expect(formatKwh(1_289_376)).toBe('1,289 MWh'); // MWh is the largest: the paper's unit
    expect(formatKwh(1.6)).toBe('1.600 kWh'); // trailing zeros kept: live figures keep their width
    expect(formatKwh(0.0002087)).toBe('208.7 mWh');
    expect(formatKwh(0.01568)).toBe('15.68 Wh');
    expect(formatKwh(0)).toBe('0 Wh');
    expect(formatEnergyJoules(330)).toBe('91.67 mWh');
    expect(formatCo2eKg(1.23456)).toBe('1.23 kg');
    expect(formatCo2eKg(0.00010019)).toBe('100 mg');
    expect(formatCo2eKg(4.48e-7)).toBe('0.448 mg'); // below the smallest prefix: plain digits
    expect(formatMassGrams(0.448)).toBe('448 mg');
    expect(formatCo2eKg(553_142.3)).toBe('553 t');
    expect(formatWatts(6.272)).toBe('6.27 W');
    expect(formatWatts(1446.272)).toBe('1.45 kW');
    expect(formatWatts(999.7)).toBe('1.00 kW');
    expect(formatKwh(-2.5)).toBe('-2.500 kWh');
    expect(formatKwh(Number.NaN)).toBe('—');
  });

  it('fixed units switch to scientific notation below 0.001', () => {
    expect(fixed(0.003977, 4)).toBe('0.003977');
    expect(fixed(0.0015, 3)).toBe('0.0015');
    expect(fixed(4.48e-10, 3)).toBe('4.48e-10');
    expect(fixed(1.5e-4, 3)).toBe('1.5e-4');
    expect(fixed(-2e-5, 3)).toBe('-2e-5');
    expect(fixed(0, 3)).toBe('0');
    expect(fixed(723.136, 3)).toBe('723');
  });

  it('durations, PUE and times', () => {
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
    expect(t).toMatch(/gpu0 +gpu +NVIDIA H100 80GB HBM3 +1\.625 kWh +650 W +counter/);
    expect(t).toMatch(/ram +dram +RAM 16\.0 GiB +15\.68 Wh +6\.27 W +modelled/);
    // The Table 4 row is too wide for a terminal, so the table rendering shows it on its side.
    expect(t).toMatch(/Processor +NVIDIA H100 80GB HBM3\nChips +2\nAvg system W per chip +723\nHours +2\.5\nMWh +0\.003977\nPUE +1\.10\nkgCO2e\/kWh +0\.376\nGross tCO2e +0\.0015\nNet tCO2e +0\.00105/);
    expect(t).toContain('Total (3 periods)');
  });

  it('a tiny run reads in mWh and mg in the table, in fixed units with exponents in Markdown and Table 4', () => {
    const r = scaledReport(demoReport(), 1e-4); // 0.9 s of the demo's two H100s: a quick test run
    const t = renderReport(r, 'table');
    expect(t).toContain('IT energy            361.6 mWh');
    expect(t).toContain('CO2e location-based  150 mg');
    expect(t).toMatch(/gpu0 +gpu +NVIDIA H100 80GB HBM3 +162\.5 mWh +650 W +counter/);
    expect(t).toMatch(/MWh +3\.977e-7\n/);
    expect(t).toMatch(/Gross tCO2e +1\.5e-7\n/);
    expect(t).not.toMatch(/0\.000/);
    const md = renderReport(r, 'markdown');
    expect(md).toContain('| IT energy | 3.616e-4 kWh |');
    expect(md).toContain('| CO2e location-based | 1.5e-4 kg |');
    expect(md).toContain('| NVIDIA H100 80GB HBM3 | 2 | 723 | 2.5e-4 | 3.977e-7 | 1.10 | 0.376 | 1.5e-7 | 1.05e-7 |');
    expect(md).not.toMatch(/0\.000/);
  });

  it('caps a long hourly table at the first and last periods, with a total over all', () => {
    const t = renderReport(longReport(100), 'table');
    const periodRows = t.split('\n').filter((l) => /^2026-03-0\d \d\d:00:00Z/.test(l));
    expect(periodRows).toHaveLength(2 * HOURLY_EDGE_ROWS);
    expect(periodRows[0]).toMatch(/^2026-03-01 00:00:00Z/);
    expect(periodRows.at(-1)).toMatch(/^2026-03-05 03:00:00Z/);
    expect(t).toContain('... 52 more periods (all of them: --format json or csv)');
    expect(t).toMatch(/Total \(100 periods\) +100\.0 kWh +110\.0 kWh +400 +44\.0 kg +44\.0 kg/);
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
