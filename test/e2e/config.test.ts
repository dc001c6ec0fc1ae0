import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli, tempDir, writeTree } from '../helpers/cli.js';

let dir: string;
beforeAll(() => {
  dir = tempDir('e2e-config');
  writeTree(dir, { 'sys/class/.keep': '' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function pueAndLabels(extra: string[], env: Record<string, string> = {}): Promise<{ pue: number; pueSource: string; labels: Record<string, string>; interval?: number }> {
  const id = `cfg-${Math.random().toString(16).slice(2)}`;
  const out = join(dir, `${id}.json`);
  const r = await runCli(['run', '--db', join(dir, 'w.db'), '--sysfs', join(dir, 'sys'), '--collectors', 'ram', '--no-listen', '--intensity', '100',
    '--run-id', id, '--report-file', out, '--quiet', ...extra, '--', 'true'], baseEnv(env));
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8'));
}

describe('option precedence: flag > env > config file > default', () => {
  it('applies each source in order', async () => {
    const cfg = join(dir, 'wattprint.json');
    writeFileSync(cfg, JSON.stringify({ pue: 1.2, label: { team: 'ml', site: 'a' }, 'sample-retention': 60 }));
    expect((await pueAndLabels([])).pue).toBe(1.58);
    const fromFile = await pueAndLabels(['--config', cfg]);
    expect(fromFile.pue).toBe(1.2);
    expect(fromFile.labels).toEqual({ team: 'ml', site: 'a' });
    expect((await pueAndLabels([], { WATTPRINT_CONFIG: cfg })).pue).toBe(1.2);
    expect((await pueAndLabels(['--config', cfg], { WATTPRINT_PUE: '1.3' })).pue).toBe(1.3);
    const fromFlag = await pueAndLabels(['--config', cfg, '--pue', '1.4', '--label', 'team=infra'], { WATTPRINT_PUE: '1.3' });
    expect(fromFlag.pue).toBe(1.4);
    expect(fromFlag.pueSource).toBe('set with --pue');
    expect(fromFlag.labels).toEqual({ team: 'infra' });
  });

  it('reports a bad config file in one line with exit 2', async () => {
    const cases: [unknown, RegExp][] = [
      [{ pue: 0.5 }, /config file .*'pue': --pue must be a number from 1.0 to 5.0/],
      [{ frobnicate: 1 }, /config file .*unknown option 'frobnicate'/],
      ['not json', /cannot read config file/],
    ];
    for (const [content, message] of cases) {
      const cfg = join(dir, 'bad.json');
      writeFileSync(cfg, typeof content === 'string' ? content : JSON.stringify(content));
      const r = await runCli(['run', '--db', join(dir, 'w.db'), '--no-listen', '--collectors', 'ram', '--config', cfg, '--', 'true']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
