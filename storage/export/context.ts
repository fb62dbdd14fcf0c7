// What every export writer gets: the store, the output directory and the shared lookups.
import type { CorpusStore } from '../store.js';
import type { Description } from '../schemas.js';

export interface ExportContext {
  store: CorpusStore;
  outDir: string;
  /** Every image's usable descriptions, best first (loadDescriptions), read once per export. */
  descriptions: Map<string, Description[]>;
  /** `--allow-missing`: an image whose blob file is gone is left out (and counted) instead of stopping the export. */
  allowMissing?: boolean;
}

/** An export would name an image file whose bytes the store has lost: it stops rather than ship a dataset that points at nothing. */
export class MissingBlobError extends Error {
  constructor(
    readonly imageId: string,
    readonly blobPath: string,
  ) {
    super(`image ${imageId} has no blob file (${blobPath}), so the export would name a file that is absent; run \`m2rag doctor --repair\` to fetch it again, or export with --allow-missing to leave it out`);
    this.name = 'MissingBlobError';
  }
}

/** Stops the export on a missing image file, unless the export allows it. */
export function onMissingBlob(ctx: ExportContext, imageId: string): void {
  if (!ctx.allowMissing) throw new MissingBlobError(imageId, ctx.store.blobPath(imageId));
}
