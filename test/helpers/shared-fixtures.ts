import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe } from 'vitest';

/** SHARED_FIXTURES is ../shared/fixtures beside the repository: real captures with provenance in SOURCES.md. */
export const SHARED_FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/', import.meta.url));

/**
 * describeShared is `describe` when the shared capture at `relative` exists. Missing under CI it fails the
 * suite (CI always has ../shared: a missing one is a broken checkout, not a reason to pass); missing locally
 * the suite is skipped and says so.
 */
export function describeShared(relative: string): typeof describe {
  const path = `${SHARED_FIXTURES}${relative}`;
  if (existsSync(path)) return describe;
  if (process.env.CI) throw new Error(`conformance fixture ${path} is missing: CI must run with ../shared/fixtures beside the repository`);
  console.warn(`skipping conformance tests: ${path} is missing (clone ../shared beside the repository to run them)`);
  return describe.skip;
}
