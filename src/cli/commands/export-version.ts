// `m2rag export --version N`: the dataset frozen with store version N, written back byte for byte.
import { UserError } from '../../core/errors.js';
import { getVersion, VersionDatasetError, writeVersionDataset, type CorpusStore } from '../../../storage/index.js';

export async function writeStoredVersion(store: CorpusStore, number: number, outDir: string): Promise<number> {
  const version = await getVersion(store, number);
  if (!version || version.status !== 'done') throw new UserError(`--version ${number}: the store has no version ${number} (\`m2rag refresh\` makes them; version 1 is the store before its first refresh)`);
  try {
    return await writeVersionDataset(store, version, outDir);
  } catch (error) {
    if (error instanceof VersionDatasetError) throw new UserError(`--version ${number}: ${error.message}`);
    throw error;
  }
}
