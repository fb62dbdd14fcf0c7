// A worker thread's result handed back with some of its bytes moved, not copied: piscina transfers
// the buffers it is told of, and the main thread receives the value as it was. A view over part of a
// shared buffer (Node pools small Buffers in one ArrayBuffer) is copied as usual: moving it would take
// the whole pool from the thread.
import { move, transferableSymbol, valueSymbol } from 'piscina';

/** `value`, to be returned from a task, with the ArrayBuffers wholly owned by `views` transferred to the caller. */
export function withBytesMoved<T extends object>(value: T, views: Uint8Array[]): T {
  const owned = views.filter((view) => view.byteOffset === 0 && view.byteLength === view.buffer.byteLength).map((view) => view.buffer);
  if (owned.length === 0) return value;
  return move({
    get [transferableSymbol]() {
      return owned;
    },
    get [valueSymbol]() {
      return value;
    },
  }) as unknown as T;
}
