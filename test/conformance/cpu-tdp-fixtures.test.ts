import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeShared, SHARED_FIXTURES } from '../helpers/shared-fixtures.js';
import { CPU_IDLE_FRACTION } from '../../collectors/cpu.js';
import { CPU_TDP_TABLE, normaliseCpuName } from '../../collectors/lib/cpu-tdp.js';

const fixtures = `${SHARED_FIXTURES}cpu-tdp/`;
const codecarbonCsv = `${fixtures}codecarbon__cpu_power.csv`;
const ccfCsv = `${fixtures}ccf__coefficients-aws-use.csv`;

/**
 * Rows where our vendor figure differs from CodeCarbon's on purpose. CodeCarbon lists the i7-12700K at
 * 190 W, its Maximum Turbo Power; ark.intel.com's Processor Base Power (the TDP equivalent) is 125 W.
 */
const KNOWN_DIFFERENCES: Record<string, number> = { 'Core i7-12700K': 190 };

function readCodecarbon(): Map<string, number> {
  const byKey = new Map<string, number>();
  for (const line of readFileSync(codecarbonCsv, 'utf8').split('\n').slice(1)) {
    const i = line.lastIndexOf(',');
    if (i > 0) byKey.set(normaliseCpuName(line.slice(0, i)), Number(line.slice(i + 1)));
  }
  return byKey;
}

describeShared('cpu-tdp/codecarbon__cpu_power.csv')('cpu-tdp table vs CodeCarbon cpu_power.csv', () => {
  it('every row CodeCarbon also lists has the same TDP (except documented differences)', () => {
    const cc = readCodecarbon();
    const differing: Record<string, number> = {};
    let compared = 0;
    for (const row of CPU_TDP_TABLE) {
      const theirs = cc.get(normaliseCpuName(row.model));
      if (theirs === undefined) continue;
      compared++;
      if (theirs !== row.tdpWatts) differing[row.model] = theirs;
    }
    expect(differing).toEqual(KNOWN_DIFFERENCES);
    // 241 of 258 rows are in CodeCarbon's table; newer Core parts, Ampere and Graviton are not.
    expect(compared).toBe(241);
  });

  it('table keys are unique after normalisation', () => {
    const keys = CPU_TDP_TABLE.map((r) => normaliseCpuName(r.model));
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describeShared('cpu-tdp/ccf__coefficients-aws-use.csv')('idle fraction vs CCF per-architecture coefficients', () => {
  it('is CCF\'s AWS average (0.74 / 3.5 W per vCPU) and lies within the middle half of the per-microarchitecture ratios', () => {
    const ratios = readFileSync(ccfCsv, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(','))
      .map((f) => Number(f[2]) / Number(f[3]));
    expect(ratios).toHaveLength(20);
    expect(CPU_IDLE_FRACTION).toBe(0.74 / 3.5);
    ratios.sort((a, b) => a - b);
    // Interquartile range of the 20 microarchitectures: 0.204–0.280.
    expect(CPU_IDLE_FRACTION).toBeGreaterThan(ratios[4]!);
    expect(CPU_IDLE_FRACTION).toBeLessThan(ratios[14]!);
  });
});
