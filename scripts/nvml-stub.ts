/** Builds the stub libnvidia-ml used by the NVML tests and the bench (C source in test/fixtures/nvml-stub). */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const STUB_SOURCE = join('test', 'fixtures', 'nvml-stub', 'nvml-stub.c');

/** nvmlStubSourcePath finds the stub's C source from scripts/ (ts) or dist/scripts/ (compiled js). */
export function nvmlStubSourcePath(): string {
  return repoFile(STUB_SOURCE);
}

/** repoFile finds a repository file (a fixture) from scripts/ (ts) or dist/scripts/ (compiled js). */
export function repoFile(relativePath: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(dir, relativePath);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`${relativePath} not found above ${fileURLToPath(import.meta.url)}`);
}

/**
 * compileNvmlStub runs gcc on the stub's C source and returns the path of `<outDir>/libnvidia-ml.so.1`.
 * Its values come from the script file named by $NVML_STUB_SCRIPT, read at every nvmlInit_v2.
 */
export function compileNvmlStub(outDir: string): string {
  const libraryPath = join(outDir, 'libnvidia-ml.so.1');
  try {
    execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-Wall', '-o', libraryPath, nvmlStubSourcePath()], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (cause) {
    throw new Error('compile the stub libnvidia-ml with gcc (is gcc installed?)', { cause });
  }
  return libraryPath;
}
