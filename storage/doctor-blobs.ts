// The blob half of `m2rag doctor`: every image's original and thumbnail file, and every page's HTML
// file, against the sha256 it is named by. A lost or altered original can be fetched again from the
// URL it came from (the caller supplies the fetch, so it goes through the crawler's safe HTTP); a
// thumbnail is derived and is listed for `m2rag process --force` instead. A page's HTML is not
// fetched again here: the page may have changed since, and `m2rag refresh` is the command for that.
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { BlobStore, sha256Hex } from './blobs.js';
import { addProblem, newPart, type BlobRefetch, type DoctorOptions, type PartReport } from './doctor-report.js';

type BlobState = 'ok' | 'missing' | 'altered';

async function stateOf(blobs: BlobStore, sha256: string): Promise<BlobState> {
  const bytes = await blobs.get(sha256);
  if (!bytes) return 'missing';
  return sha256Hex(bytes) === sha256 ? 'ok' : 'altered';
}

export async function checkBlobs(
  dir: string,
  images: Array<{ id: string; thumbnailId?: string; firstUrl: string }>,
  pageHtml: Array<{ pageId: string; sha256: string }>,
  options: DoctorOptions,
): Promise<PartReport> {
  const report = newPart('blobs');
  const blobs = new BlobStore(path.join(dir, 'blobs'));
  for (const image of images) {
    report.checked++;
    const state = await stateOf(blobs, image.id);
    if (state !== 'ok') {
      const restored = options.repair && (await restore(blobs, image.id, image.firstUrl, state, options.refetch));
      if (restored) report.repaired.push(`image ${image.id.slice(0, 12)}…: ${state}, fetched again from ${image.firstUrl}`);
      else addProblem(report, `image ${image.id.slice(0, 12)}…: ${state} (${blobs.pathOf(image.id)})${options.repair ? `, and ${image.firstUrl} did not give the same bytes again` : `; --repair fetches it again from ${image.firstUrl}`}`);
    }
    if (image.thumbnailId) {
      report.checked++;
      const thumbnail = await stateOf(blobs, image.thumbnailId);
      if (thumbnail !== 'ok') addProblem(report, `thumbnail of image ${image.id.slice(0, 12)}…: ${thumbnail}; rebuild it with \`m2rag process --force\``);
    }
  }
  for (const { pageId, sha256 } of pageHtml) {
    report.checked++;
    const state = await stateOf(blobs, sha256);
    if (state !== 'ok') addProblem(report, `HTML of page ${pageId.slice(0, 12)}…: ${state} (${blobs.pathOf(sha256)}); \`m2rag refresh\` fetches the page again`);
  }
  return report;
}

/** Fetches the original again and keeps it only if it has the same sha256; an altered file is moved aside first. */
async function restore(blobs: BlobStore, sha256: string, url: string, state: BlobState, refetch: BlobRefetch | undefined): Promise<boolean> {
  if (!refetch) return false;
  const bytes = await refetch(url).catch(() => undefined);
  if (!bytes || sha256Hex(bytes) !== sha256) return false;
  if (state === 'altered') await rename(blobs.pathOf(sha256), `${blobs.pathOf(sha256)}.altered`);
  await blobs.put(bytes);
  return true;
}
