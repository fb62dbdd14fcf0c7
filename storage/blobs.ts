// Content-addressed blob files: `<dir>/<first two hex>/<sha256>`, written to a temporary file and
// renamed into place, so a reader never sees a half-written blob and a crash leaves at most an
// orphan temp file. Identical bytes are stored once however many pages use them. Images, their
// thumbnails and pages' HTML are blobs.
import { hash, randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export function sha256Hex(bytes: Uint8Array | string): string {
  return hash('sha256', bytes, 'hex');
}

export class BlobStore {
  /** The two-hex-digit folders known to exist, so a put makes its folder once per process. */
  private readonly folders = new Set<string>();

  constructor(readonly dir: string) {}

  pathOf(sha256: string): string {
    return path.join(this.dir, sha256.slice(0, 2), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await access(this.pathOf(sha256));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stores the bytes and returns their sha256; a no-op when the blob already exists. `sha256` is the
   * bytes' hash when the caller has it already (a parsing thread computes a page's).
   */
  async put(bytes: Uint8Array, sha256?: string): Promise<string> {
    const sha = sha256 ?? sha256Hex(bytes);
    if (await this.has(sha)) return sha;
    const target = this.pathOf(sha);
    const folder = path.dirname(target);
    if (!this.folders.has(folder)) await this.makeFolder(folder);
    const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, bytes).catch(async (error: NodeJS.ErrnoException) => {
        // The folder went away since it was made (a store emptied by hand): make it again, once.
        if (error.code !== 'ENOENT') throw error;
        await this.makeFolder(folder);
        await writeFile(temp, bytes);
      });
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return sha;
  }

  private async makeFolder(folder: string): Promise<void> {
    await mkdir(folder, { recursive: true });
    this.folders.add(folder);
  }

  async get(sha256: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(sha256));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
}
