// A damaged store is reported as one line naming the store, the part that cannot be read and the
// way out (`m2rag doctor`), never as LevelDB's raw `Corruption: bad entry in block`.
import { StoreOpenError } from './store-folder.js';

const DAMAGE_CODES = new Set(['LEVEL_CORRUPTION', 'LEVEL_IO_ERROR', 'LEVEL_DECODE_ERROR']);

/** A store whose database, or one part of it, cannot be read. */
export class StoreDamagedError extends StoreOpenError {
  constructor(
    readonly dir: string,
    /** What cannot be read: a record kind, an index, or the database as a whole. */
    readonly part: string,
    readonly detail: string,
  ) {
    super(`store ${dir} is damaged: ${part} cannot be read (${detail}); run \`m2rag --store ${dir} doctor\` to see what is affected and \`doctor --repair\` to fix what can be fixed`);
    this.name = 'StoreDamagedError';
  }
}

/** The first line of the innermost LevelDB or decoding error, when `error` is one. */
export function damageDetail(error: unknown): string | undefined {
  for (let e = error as { code?: string; message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e !== 'object') return undefined;
    const inner = e.cause as { code?: string } | undefined;
    if (e.code && DAMAGE_CODES.has(e.code) && !(inner?.code && DAMAGE_CODES.has(inner.code))) {
      const why = inner && typeof inner === 'object' && !inner.code ? (inner as { message?: string }).message : undefined;
      return `${e.message ?? e.code}${why ? `: ${why}` : ''}`.split('\n')[0]!.slice(0, 200);
    }
  }
  return undefined;
}

/** Rethrows a read failure as StoreDamagedError when it is damage, as is otherwise. */
export function asDamage(error: unknown, dir: string, part: string): never {
  if (error instanceof StoreDamagedError) throw error;
  const detail = damageDetail(error);
  if (detail !== undefined) throw new StoreDamagedError(dir, part, detail);
  throw error;
}
