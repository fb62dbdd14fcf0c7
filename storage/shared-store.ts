// One LevelDB can be open in one process only. So the process that opens a store serves it to the
// others on the same machine: a many-level host on a unix socket in the store folder (`db.sock`,
// with the holder's pid in `db.pid`). A later process that finds the LOCK held opens the store as a
// many-level guest over that socket: `stats`, `export`, `show` and `serve` read (and may write)
// while a build or worker writes, every operation going through the one process that owns the files.
import { readFileSync, rmSync } from 'node:fs';
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
    let it: PromiseIterator;
    try {
      it = (db[mode] as (options: unknown) => PromiseIterator).call(db, options);
    } catch (error) {
      // The database is closing under a guest's request: the guest hears it, the host does not crash.
      return { nextv: (_size: number, done: Done) => done(error as Error), seek: () => undefined, close: (done: Done) => done() };
    }
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

/** The guests connected to each store folder this process serves. */
const guestSockets = new Map<string, Set<net.Socket>>();

/** How many other processes read or write the store in `dir` through this one now (0 when this one does not serve it). */
export function guestsOf(dir: string): number {
  return guestSockets.get(path.resolve(dir))?.size ?? 0;
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
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    pipeline(socket, host.createRpcStream(), socket, () => (sockets.delete(socket), socket.destroy()));
  });
  const listening = await new Promise<boolean>((resolve) => server.once('error', () => resolve(false)).listen(socketPath, () => resolve(true)));
  if (!listening) return;
  server.unref();
  guestSockets.set(path.resolve(dir), sockets);
  await writeFile(pidFileOf(dir), `${process.pid}\n`);
  db.once('closing', () => {
    guestSockets.delete(path.resolve(dir));
    server.close();
    // Guests still connected learn at once that they must open the store again (storage/store.ts retries).
    sockets.forEach((socket) => socket.destroy());
    // At once, not on the thread pool: the store is closed when its close resolves, files included
    // (a caller that copies the folder next must not see the pid file vanish under it).
    rmSync(socketPath, { force: true });
    rmSync(pidFileOf(dir), { force: true });
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
async function connectToHolder(dir: string, fail: (message: string) => Error): Promise<StoreDatabase> {
  const socket = net.connect(socketOf(dir));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject)).catch(() => {
    throw fail(`store ${dir} is in use by ${holderOf(dir)}, which does not share it (no ${socketOf(dir)}); wait for it to finish or use another --store`);
  });
  const guest = new ManyLevelGuest();
  // Once the holder is gone (it closed the store, or died), later calls would wait for ever: the
  // guest is closed, so they fail at once and the caller can open the store again.
  pipeline(socket, guest.createRpcStream(), socket, () => {
    socket.destroy();
    if (guest.status === 'open') void guest.close().catch(() => undefined);
  });
  guest.once('closed', () => socket.destroy());
  return withMissingAsUndefined(guest);
}

/** How long a process that finds the store held waits for a holder that is closing it (then opens it itself). */
const JOIN_TRIES = 20;
const JOIN_PAUSE_MS = 150;

const codeOf = (error: unknown): string | undefined => {
  const e = error as { code?: string; cause?: { code?: string } };
  return e?.cause?.code ?? e?.code;
};

/**
 * Opens the store in this process (`here`, which serves it), or else over the socket of the process
 * that holds it (`join`). A holder may be closing just then (a viewer going idle, a build ending):
 * its socket is gone or drops while we open, so we try again until its LOCK is free and open here.
 */
export async function openOrJoin<T>(dir: string, how: { here: () => Promise<T>; join: (db: StoreDatabase) => Promise<T>; fail: (message: string) => Error }): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await how.here();
    } catch (error) {
      if (codeOf(error) !== 'LEVEL_LOCKED') throw error;
    }
    let db: StoreDatabase | undefined;
    try {
      db = await connectToHolder(dir, how.fail);
      return await how.join(db);
    } catch (error) {
      const holderLeft = db === undefined || codeOf(error) === 'LEVEL_CONNECTION_LOST' || codeOf(error) === 'LEVEL_DATABASE_NOT_OPEN';
      if (!holderLeft || tries >= JOIN_TRIES) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, JOIN_PAUSE_MS));
  }
}
