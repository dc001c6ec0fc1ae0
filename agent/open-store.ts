import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { MIGRATIONS } from '../src/store/schema.js';
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

/** isWritable says whether this user may write the database and create its -wal and -shm files beside it. */
export function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    accessSync(dirname(path), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * openStoreForReading opens an existing database for a command that only reads (report, runs). One the user
 * may write is opened as usual (upgrading an old schema); one they may only read is opened read-only.
 */
export function openStoreForReading(path: string): Store {
  if (!existsSync(path)) throw new UsageError(`no wattprint database at ${path}: track a run first (\`wattprint run -- CMD\`) or pass --db`);
  return isWritable(path) ? openStore(path) : openReadOnly(path);
}

const READ_ONLY_FIX = 'ask its owner for write access once, or copy it somewhere writable';

function openReadOnly(path: string): Store {
  let store: Store;
  try {
    store = Store.open(path, { readonly: true });
  } catch (err) {
    const code = ((err as Error).cause as { code?: string } | undefined)?.code;
    // A WAL database read without its -shm file needs to create one; in a read-only folder it cannot. With no
    // -wal file (the database was closed cleanly) the main file holds everything, so a private copy reads the same.
    if ((code === 'SQLITE_READONLY_DIRECTORY' || code === 'SQLITE_CANTOPEN') && !hasWal(path)) store = openCopy(path);
    else throw new UsageError(`cannot read database ${path}: ${(err as Error).message.replace(/; pass --db.*$/, '')}; ${READ_ONLY_FIX}`);
  }
  const version = store.db.pragma('user_version', { simple: true }) as number;
  if (version !== MIGRATIONS.length) {
    store.close();
    throw new UsageError(version > MIGRATIONS.length
      ? `database schema v${version} is newer than this wattprint (v${MIGRATIONS.length}): upgrade wattprint`
      : `database ${path} has schema v${version} and is read-only here: open it once with write access (any wattprint command) to upgrade it to v${MIGRATIONS.length}, or ${READ_ONLY_FIX}`);
  }
  return store;
}

function hasWal(path: string): boolean {
  try {
    return statSync(`${path}-wal`).size > 0;
  } catch {
    return false;
  }
}

/** openCopy opens a private copy of a cleanly closed database, removed again when the store is closed. */
function openCopy(path: string): Store {
  const dir = mkdtempSync(join(tmpdir(), 'wattprint-ro-'));
  const copy = join(dir, basename(path));
  try {
    copyFileSync(path, copy);
    const store = Store.open(copy, { readonly: true });
    // Messages name the user's database, not the copy.
    Object.defineProperty(store, 'path', { value: path });
    const close = store.close.bind(store);
    store.close = () => {
      close();
      rmSync(dir, { recursive: true, force: true });
    };
    return store;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new UsageError(`cannot read database ${path}: ${(err as Error).message.replace(/; pass --db.*$/, '')}; ${READ_ONLY_FIX}`);
  }
}
