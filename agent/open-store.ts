import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Store, StoreError } from '../src/store/store.js';
import { UsageError } from './errors.js';

/**
 * openStore opens the database for writing; problems are usage errors. Only the default location's folder
 * is created: a folder the user named that does not exist is more likely a typo than a wish.
 */
export function openStore(path: string, createFolder = false): Store {
  const dir = dirname(path);
  if (!existsSync(dir)) {
    if (!createFolder) throw new UsageError(`cannot open database ${path}: folder ${dir} does not exist; create it or pass --db with a writable path`);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new UsageError(`cannot create ${dir} for the database: ${(err as Error).message}; pass --db with a writable path`);
    }
  }
  try {
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
