// Review test: a Prometheus dump of wattprint_energy_joules_total from a multi-node run (one agent per node, the
// deployment the README recommends) has one `gpu0` series per node; replay must not interleave them.
import { describe, expect, it } from 'vitest';
import { replayTrace } from '../../src/sources/replay.js';
import { parseTrace } from '../../src/sources/replay-parse.js';

const flat = { name: 'flat', lookup: (t: number) => ({ gramsPerKwh: 100, source: 'flat', periodStartMs: Math.floor(t / 3.6e6) * 3.6e6, periodSeconds: 3600, quality: 'actual' as const }) };

describe('replay of a multi-node Prometheus dump', () => {
  it('keeps node A and node B gpu0 apart (each drew 100 W for 60 s)', () => {
    const t0 = Date.UTC(2026, 10, 22, 10, 0, 0);
    const lines: string[] = [];
    for (let i = 0; i <= 4; i++) {
      // scrapes of the two nodes are 7 s apart; node B's run total is larger (it ran longer before)
      lines.push(`wattprint_energy_joules_total{run_id="j",instance="a:9477",device="gpu0",kind="gpu"} ${1_000 + i * 1_500} ${t0 + i * 15_000}`);
      lines.push(`wattprint_energy_joules_total{run_id="j",instance="b:9477",device="gpu0",kind="gpu"} ${50_000 + i * 1_500} ${t0 + 7_000 + i * 15_000}`);
    }
    const trace = parseTrace(lines.join('\n') + '\n', 'dump.txt');
    const { report } = replayTrace(trace, { runId: 'replay', fileName: 'dump.txt', pue: { value: 1, source: 'x' }, intensity: flat, market: {} });
    // 2 × 4 × 1 500 J = 12 kJ
    expect(report.energy.itKwh * 3.6e6).toBeCloseTo(12_000, 0);
  });
});
