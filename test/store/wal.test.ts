import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../../src/store/store.js';

// Issue 14: the -wal file stayed at 4 MB for ever. The store checkpoints every 256 pages, caps the file at 1 MiB
// when SQLite resets it, and the tracker truncates it every 600 ticks through checkpointWal() — which never waits
// behind a reader (a long report must not stall a tick).
let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'wattprint-wal-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the WAL file stays bounded', () => {
  it('checkpointWal truncates it to nothing, and gives up at once (false) while a reader holds a snapshot', () => {
    const path = join(dir, 'w.db');
    const store = Store.open(path);
    store.db.exec('CREATE TABLE filler (b BLOB)');
    const insert = store.db.prepare('INSERT INTO filler VALUES (?)');
    for (let i = 0; i < 200; i++) insert.run(Buffer.alloc(16 * 1024, i));
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);
    expect(statSync(`${path}-wal`).size).toBeLessThanOrEqual(1024 * 1024 + 300 * 4200);

    const reader = new Database(path, { readonly: true });
    reader.prepare('BEGIN').run();
    reader.prepare('SELECT count(*) FROM filler').get();
    insert.run(Buffer.alloc(1024));
    const started = performance.now();
    expect(store.checkpointWal()).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000); // busy_timeout 0 for the checkpoint, not 5 s
    reader.prepare('COMMIT').run();
    reader.close();

    expect(store.checkpointWal()).toBe(true);
    expect(statSync(`${path}-wal`).size).toBe(0);
    // The connection's own busy timeout is back for everything else.
    expect(store.db.pragma('busy_timeout', { simple: true })).toBe(5000);
    store.close();
  });
});
