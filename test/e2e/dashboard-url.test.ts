import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCli, tempDir, waitFor } from '../helpers/cli.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('wattprint agent --token', () => {
  it('prints a dashboard URL that works: the token in its fragment, which no request carries', async () => {
    const dir = tempDir('e2e-dash-url');
    dirs.push(dir);
    const token = 'tok/en+42';
    const agent = startCli(['agent', '--collectors', 'sim', '--interval', '0.5', '--intensity', '100', '--db', join(dir, 'w.db'),
      '--listen', '127.0.0.1:0', '--token', token]);
    let err = '';
    agent.stderr!.on('data', (d) => (err += d));
    try {
      const [, base, fragment] = await waitFor(() => /live at (http:\/\/[^/\s]+)\/(#token=\S+) \(metrics (\S+)\)/.exec(err), 20_000, `listen line: ${err}`);
      expect(fragment).toBe('#token=tok%2Fen%2B42');
      expect(decodeURIComponent(new URLSearchParams(fragment!.slice(1)).get('token')!)).toBe(token);
      // What a browser requests for that URL (never the fragment): the page, served without the token…
      const page = await fetch(`${base}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('id="token-form"');
      // …and the data, which needs the token the page read from the fragment.
      expect((await fetch(`${base}/api/snapshot`)).status).toBe(401);
      const snapshot = await fetch(`${base}/api/snapshot`, { headers: { Authorization: `Bearer ${token}` } });
      expect(snapshot.status).toBe(200);
      expect(((await snapshot.json()) as { devices: unknown[] }).devices.length).toBeGreaterThan(0);
    } finally {
      agent.kill('SIGTERM');
      await agent.result;
    }
  }, 60_000);
});
