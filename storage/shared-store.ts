// One LevelDB can be open in one process only. So the process that opens a store serves it to the
// others on the same machine: a many-level host on a unix socket in the store folder (`db.sock`,
// with the holder's pid in `db.pid`). A later process that finds the LOCK held opens the store as a
// many-level guest over that socket: `stats`, `export`, `show` and `serve` read (and may write)
// while a build or worker writes, every operation going through the one process that owns the files.
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { ManyLevelGuest, ManyLevelHost } from 'many-level';
import type { AbstractLevel } from 'abstract-level';

/** The database a store runs over (as in store.ts, which imports this module). */
type StoreDatabase = AbstractLevel<string | Buffer | Uint8Array, string, unknown>;

const socketOf = (dir: string): string => path.join(dir, 'db.sock');
const pidFileOf = (dir: string): string => path.join(dir, 'db.pid');

const settle = (promise: Promise<unknown>, done: Done): void => void promise.then((value) => done(null, value), (error: Error) => done(error));
type Done = (error?: Error | null, value?: unknown) => void;

function notFound(): Error {
  return Object.assign(new Error('Entry not found'), { code: 'LEVEL_NOT_FOUND' });
}

interface PromiseIterator {
  nextv(size: number): Promise<unknown[]>;
  seek(target: unknown, options?: unknown): void;
  close(): Promise<void>;
}

/**
 * many-level 2 speaks abstract-level 1 (callbacks, a missing key is an error) to both sides, while
 * our `level` is abstract-level 3 (promises, a missing key is undefined). The host gets our database
 * behind the old calls, and the guest's reads give undefined for a missing key again.
 */
function callbackFacade(db: StoreDatabase): unknown {
  const iterate = (mode: 'iterator' | 'keys' | 'values') => (options: unknown) => {
    const it = (db[mode] as (options: unknown) => PromiseIterator).call(db, options);
    return { nextv: (size: number, done: Done) => settle(it.nextv(size), done), seek: (target: unknown, o: unknown) => it.seek(target, o), close: (done: Done) => settle(it.close(), done) };
  };
  const call = (method: string, ...args: unknown[]): Promise<unknown> => (db as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!.apply(db, args);
  return {
    supports: db.supports,
    open: (options: unknown, done: Done) => settle(call('open', options), done),
    get: (key: unknown, options: unknown, done: Done) => settle(call('get', key, options).then((value) => (value === undefined ? Promise.reject(notFound()) : value)), done),
    getMany: (keys: unknown, options: unknown, done: Done) => settle(call('getMany', keys, options), done),
    put: (key: unknown, value: unknown, options: unknown, done: Done) => settle(call('put', key, value, options), done),
    del: (key: unknown, options: unknown, done: Done) => settle(call('del', key, options), done),
    batch: (ops: unknown, options: unknown, done: Done) => settle(call('batch', ops, options), done),
    clear: (options: unknown, done: Done) => settle(call('clear', options), done),
    iterator: iterate('iterator'),
    keys: iterate('keys'),
    values: iterate('values'),
  };
}

/** The guest's sublevels, whose get answers undefined for a missing key as abstract-level 3 does. */
function withMissingAsUndefined(guest: ManyLevelGuest): StoreDatabase {
  const sublevel = guest.sublevel.bind(guest);
  (guest as unknown as { sublevel: unknown }).sublevel = (name: string, options: unknown) => {
    const sub = sublevel(name, options as never) as unknown as { get: (...args: unknown[]) => Promise<unknown> };
    const get = sub.get.bind(sub);
    // A get made while the sublevel opens is replayed with a callback; that one stays as it was.
    sub.get = (...args) =>
      typeof args[2] === 'function' ? get(...args) : get(...args).catch((error: { code?: string }) => (error.code === 'LEVEL_NOT_FOUND' ? undefined : Promise.reject(error)));
    return sub;
  };
  return guest as unknown as StoreDatabase;
}

/**
 * Serves the open database to other processes until it closes. Where no socket can be made (a
 * read-only folder, a path too long for a unix socket) the store stays private to this process.
 */
export async function shareDatabase(db: StoreDatabase, dir: string): Promise<void> {
  const host = new ManyLevelHost(callbackFacade(db) as never);
  const socketPath = socketOf(dir);
  // A socket file left by a process that was killed: the LOCK we now hold proves nobody serves it.
  await rm(socketPath, { force: true });
  const server = net.createServer((socket) => pipeline(socket, host.createRpcStream(), socket, () => socket.destroy()));
  const listening = await new Promise<boolean>((resolve) => server.once('error', () => resolve(false)).listen(socketPath, () => resolve(true)));
  if (!listening) return;
  server.unref();
  await writeFile(pidFileOf(dir), `${process.pid}\n`);
  db.once('closing', () => {
    server.close();
    void rm(socketPath, { force: true });
    void rm(pidFileOf(dir), { force: true });
  });
}

/** The holder's pid as it wrote it, for the line that names it. */
function holderOf(dir: string): string {
  try {
    return `process ${readFileSync(pidFileOf(dir), 'utf8').trim()}`;
  } catch {
    return 'another process';
  }
}

/** A database over the socket of the process that holds the store, or the one line saying who holds it. */
export async function connectToHolder(dir: string, fail: (message: string) => Error): Promise<StoreDatabase> {
  const socket = net.connect(socketOf(dir));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject)).catch(() => {
    throw fail(`store ${dir} is in use by ${holderOf(dir)}, which does not share it (no ${socketOf(dir)}); wait for it to finish or use another --store`);
  });
  const guest = new ManyLevelGuest();
  pipeline(socket, guest.createRpcStream(), socket, () => socket.destroy());
  guest.once('closed', () => socket.destroy());
  return withMissingAsUndefined(guest);
}
