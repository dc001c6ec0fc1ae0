// Review test (e2e, needs the build): a resume that fails to start must not reopen a closed run for good.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { baseEnv, CLI, runCli } from '../helpers/cli.js';

describe('failed resume', () => {
  it.skipIf(!existsSync(CLI))('leaves an ended run ended when the resumed session cannot listen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wattprint-resume-'));
    const db = join(dir, 'w.db');
    const common = ['--db', db, '--run-id', 'R', '--zone', 'DE', '--collectors', 'cpu,ram', '--quiet'];
    const blocker = createServer();
    try {
      const first = await runCli(['run', ...common, '--no-listen', '--', 'true'], baseEnv());
      expect(first.code).toBe(0);
      await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
      const port = (blocker.address() as { port: number }).port;
      const second = await runCli(['run', ...common, '--listen', `127.0.0.1:${port}`, '--', 'true'], baseEnv());
      expect(second.code).toBe(2); // the user error is reported fine
      const runs = await runCli(['runs', '--db', db, '--json'], baseEnv());
      const r = (JSON.parse(runs.stdout) as { runId: string; status: string }[]).find((x) => x.runId === 'R')!;
      expect(r.status).toBe('ended');
    } finally {
      blocker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
