import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Store, StoreError } from '../src/store/store.js';
import { UsageError } from './errors.js';

/** openStore opens the database for writing, creating its folder when needed; problems are usage errors. */
export function openStore(path: string): Store {
  try {
    const dir = dirname(path);
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    return Store.open(path);
  } catch (err) {
    if (err instanceof StoreError) throw new UsageError(err.message);
    throw new UsageError(`cannot open database ${path}: ${(err as Error).message}; pass --db with a writable path`);
  }
}

/** openStoreForReading opens an existing database; a missing one is a usage error naming the fix. */
export function openStoreForReading(path: string): Store {
  if (!existsSync(path)) throw new UsageError(`no wattprint database at ${path}: track a run first (\`wattprint run -- CMD\`) or pass --db`);
  return openStore(path);
}
