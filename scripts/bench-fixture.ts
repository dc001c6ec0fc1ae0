import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { compileNvmlStub, repoFile } from './nvml-stub.js';

/** RAPL_TREE is the fake powercap tree both wattprint and node_exporter read (two sockets, package + dram). */
const RAPL_TREE = join('test', 'fixtures', 'rapl', 'two-socket.json');

/**
 * BenchFixture is a temp dir with what a benchmarked agent reads instead of hardware: the stub
 * libnvidia-ml (real symbols and return codes, C), a script per GPU count, and the fake RAPL tree as
 * `<root>/sys` and `<root>/proc` (the same files `node_exporter --path.sysfs` reads).
 */
export class BenchFixture {
  readonly dir = mkdtempSync(join(tmpdir(), 'wattprint-bench-'));
  readonly libraryPath = compileNvmlStub(this.dir);
  readonly sysfsRoot = join(this.dir, 'sys');
  readonly procfsRoot = join(this.dir, 'proc');

  constructor() {
    const files = (JSON.parse(readFileSync(repoFile(RAPL_TREE), 'utf8')) as { files: Record<string, string> }).files;
    for (const [rel, content] of Object.entries(files)) {
      const path = join(this.dir, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content.endsWith('\n') ? content : `${content}\n`);
    }
  }

  /**
   * gpuScript writes (once) the stub script of `count` H100s, each drawing a steady 300-400 W in real time
   * (energy counter = mW × CLOCK_MONOTONIC seconds), and returns its path for $NVML_STUB_SCRIPT.
   */
  gpuScript(count: number): string {
    const path = join(this.dir, `gpus-${count}.txt`);
    // Agents running side by side read it as they start: written once, never rewritten under them.
    if (existsSync(path)) return path;
    const blocks: string[] = [];
    for (let i = 0; i < count; i++) {
      const hex = i.toString(16).padStart(2, '0');
      blocks.push(`gpu\nname NVIDIA H100 80GB HBM3\nuuid GPU-00000000-0000-0000-0000-0000000000${hex}\n` +
        `bus 00000000:${hex}:00.0\nlimit_mw 700000\narch 9\nsteady_mw ${300_000 + (i % 4) * 25_000}\n`);
    }
    writeFileSync(path, blocks.join(''));
    return path;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
