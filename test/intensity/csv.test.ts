import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIntensityCsv } from '../../src/intensity/csv.js';
import { csvProvider } from '../../src/intensity/csv-provider.js';
import { constantProvider } from '../../src/intensity/constant.js';
import { CsvInputError, parseTimestampMs } from '../../src/intensity/csv-text.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/intensity/${name}`, import.meta.url), 'utf8');
const H = (hour: number, minute = 0): number => Date.UTC(2024, 0, 1, hour, minute);
const OLD_HEADER =
  'Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),Carbon Intensity gCO₂eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,Data Source,Data Estimated,Data Estimation Method';

describe('parseIntensityCsv: Electricity Maps exports', () => {
  it('reads the new Life cycle form, lifecycle by default; its CFE% (the grid\'s share, not a purchase) is not read', () => {
    const parsed = parseIntensityCsv(fixture('em_new_format_3h.csv'), { fileName: '/data/em_new_format_3h.csv' });
    expect(parsed.format).toBe('electricitymaps');
    expect(parsed.periodSeconds).toBe(3600);
    expect(parsed.zones).toEqual(['DE']);
    expect(parsed.source).toBe('csv: em_new_format_3h.csv (Electricity Maps, lifecycle)');
    expect(parsed.rows).toEqual([
      { periodStartMs: H(0), gramsPerKwh: 350.25, zone: 'DE', lineNumber: 2 },
      { periodStartMs: H(1), gramsPerKwh: 250, zone: 'DE', lineNumber: 3 },
      { periodStartMs: H(3), gramsPerKwh: 150, zone: 'DE', lineNumber: 4 },
    ]);
  });

  it('reads the direct column on request', () => {
    const parsed = parseIntensityCsv(fixture('em_new_format_3h.csv'), { fileName: 'x.csv', emissionFactor: 'direct' });
    expect(parsed.rows.map((r) => r.gramsPerKwh)).toEqual([300.5, 200, 100]);
  });

  it('reads the old (direct)/(LCA) form with headers in any case', () => {
    const text = `${OLD_HEADER.toUpperCase()}\n2022-01-01 00:00:00,Germany,Germany,DE,163.46,213.79,81.25,73.73,entsoe.eu,false,\n`;
    const parsed = parseIntensityCsv(text, { fileName: 'de.csv' });
    expect(parsed.rows).toEqual([{ periodStartMs: Date.UTC(2022, 0, 1), gramsPerKwh: 213.79, zone: 'DE', lineNumber: 2 }]);
    expect(parseIntensityCsv(text, { fileName: 'de.csv', emissionFactor: 'direct' }).rows[0]?.gramsPerKwh).toBe(163.46);
  });
});

describe('parseIntensityCsv: plain form', () => {
  it('reads datetime,zone,intensity_g_per_kwh,cfe with half-hour periods and CRLF', () => {
    const parsed = parseIntensityCsv(fixture('plain_half_hour.csv'), { fileName: 'plain_half_hour.csv' });
    expect(parsed.format).toBe('plain');
    expect(parsed.periodSeconds).toBe(1800);
    expect(parsed.source).toBe('csv: plain_half_hour.csv (plain)');
    expect(parsed.rows).toEqual([
      { periodStartMs: Date.UTC(2023, 4, 4, 12, 30), gramsPerKwh: 11, cfe: 0.9, zone: 'GB', lineNumber: 2 },
      { periodStartMs: Date.UTC(2023, 4, 4, 13), gramsPerKwh: 15, zone: 'GB', lineNumber: 3 },
      { periodStartMs: Date.UTC(2023, 4, 4, 13, 30), gramsPerKwh: 15.5, cfe: 0.25, zone: 'GB', lineNumber: 4 },
    ]);
  });

  it('skips empty intensity cells and counts them', () => {
    const parsed = parseIntensityCsv('datetime,zone,intensity_g_per_kwh\n1704067200,DE,100\n1704070800,DE,\n', { fileName: 'p.csv' });
    expect(parsed.rows).toHaveLength(1);
    expect(parsed.emptyRows).toBe(1);
  });
});

describe('parseIntensityCsv: bad input', () => {
  const bad = (text: string, opts = {}): string => {
    try {
      parseIntensityCsv(text, { fileName: '/tmp/intensity.csv', ...opts });
    } catch (err) {
      expect(err).toBeInstanceOf(CsvInputError);
      return (err as Error).message;
    }
    throw new Error('expected a CsvInputError');
  };
  it('names file, line and column of a bad number', () => {
    const header = 'Datetime (UTC),Zone id,Carbon intensity gCO₂eq/kWh (Life cycle)';
    expect(bad(`${header}\n2024-01-01 00:00:00,DE,1\n\n2024-01-01 01:00:00,DE,abc\n`)).toBe(
      "intensity.csv:4:24: column 'Carbon intensity gCO₂eq/kWh (Life cycle)': 'abc' is not a number",
    );
    expect(bad(`${header}\nyesterday,DE,1\n`)).toBe(
      "intensity.csv:2:1: column 'Datetime (UTC)': 'yesterday' is not an ISO 8601 time or Unix seconds",
    );
    expect(bad('datetime,zone,intensity_g_per_kwh,cfe\n2024-01-01T00:00Z,DE,1,40\n')).toBe(
      "intensity.csv:2:24: column 'cfe': '40' is not a fraction between 0 and 1",
    );
  });
  it('reports overlapping and off-grid periods', () => {
    const plain = 'datetime,zone,intensity_g_per_kwh\n';
    expect(bad(`${plain}2024-01-01T00:00Z,DE,1\n2024-01-01T01:00Z,DE,2\n2024-01-01T00:00Z,DE,3\n`)).toBe(
      'intensity.csv:4: overlapping periods: lines 2 and 4 both cover 2024-01-01T00:00:00.000Z for zone DE',
    );
    expect(bad(`${plain}2024-01-01T00:00Z,DE,1\n2024-01-01T01:00Z,DE,2\n2024-01-01T02:00Z,DE,2\n2024-01-01T02:30Z,DE,2\n`)).toBe(
      'intensity.csv:5: period starting 2024-01-01T02:30:00.000Z is not on a 3600 s boundary like the other rows',
    );
  });
  it('explains a missing column and an empty file', () => {
    expect(bad('Datetime (UTC),Carbon intensity gCO₂eq/kWh (direct)\n', {})).toBe(
      "intensity.csv:1: no lifecycle intensity column: expected 'intensity_g_per_kwh' or an Electricity Maps 'Carbon intensity gCO₂eq/kWh (Life cycle)' column (or try --emission-factor direct)",
    );
    expect(bad('zone,intensity_g_per_kwh\n')).toBe("intensity.csv:1: no time column: expected 'Datetime (UTC)' or 'datetime'");
    expect(bad('\n\n')).toBe('intensity.csv: empty file: expected a header line');
  });
});

describe('csvProvider', () => {
  const parsed = parseIntensityCsv(fixture('em_new_format_3h.csv'), { fileName: 'em.csv' });
  const provider = csvProvider(parsed, { fallback: constantProvider(500) });
  it('answers the row of the hour holding the instant', () => {
    expect(provider.zone).toBe('DE');
    expect(provider.lookup(H(1, 59))).toEqual({
      gramsPerKwh: 250, source: 'csv: em.csv (Electricity Maps, lifecycle)',
      periodStartMs: H(1), periodSeconds: 3600, quality: 'actual',
    });
  });
  it('fills a missing hour from the fallback, flagged', () => {
    expect(provider.lookup(H(2, 30))).toEqual({
      gramsPerKwh: 500, source: 'constant (--intensity) (fallback: no row in em.csv for this period)',
      periodStartMs: H(2), periodSeconds: 3600, quality: 'annual',
    });
    expect(provider.values().map((v) => v.gramsPerKwh)).toEqual([350.25, 250, 150]);
  });
  it('insists on a zone for a multi-zone file', () => {
    const multi = parseIntensityCsv('datetime,zone,intensity_g_per_kwh\n2024-01-01T00:00Z,DE,1\n2024-01-01T00:00Z,FR,2\n', { fileName: 'm.csv' });
    expect(() => csvProvider(multi, { fallback: constantProvider(1) })).toThrow(
      'csv: m.csv (plain): the file holds zones DE, FR: pick one with --zone',
    );
    expect(csvProvider(multi, { fallback: constantProvider(1), zone: 'fr' }).lookup(H(0)).gramsPerKwh).toBe(2);
    expect(() => csvProvider(multi, { fallback: constantProvider(1), zone: 'ES' })).toThrow('no rows for zone ES');
  });
});

describe('parseTimestampMs', () => {
  it('reads ISO 8601 with and without offsets, and Unix seconds', () => {
    expect(parseTimestampMs('2024-01-01T01:00:00+01:00')).toBe(Date.UTC(2024, 0, 1));
    expect(parseTimestampMs('2024-01-01 00:00:00')).toBe(Date.UTC(2024, 0, 1));
    expect(parseTimestampMs('2023-05-04T12:30Z')).toBe(Date.UTC(2023, 4, 4, 12, 30));
    expect(parseTimestampMs('1683199800.0')).toBe(1683199800000);
    expect(parseTimestampMs('2024-02-30T00:00Z')).toBeUndefined();
    expect(parseTimestampMs('soon')).toBeUndefined();
  });
});
