// The Wikipedia mirror as the offline benchmarks build it: served on loopback, crawled with local
// search over the site, images kept as in the tests (at least 2 KB and 5,000 pixels). Shared by
// bench/run.ts, bench/score.ts and bench/build-stages.ts.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CORPORA, ROOT, runCli } from '../tests/helpers/cli.js';
import { startStaticServer } from '../tests/helpers/static-server.js';

export const MIRROR_QUERIES = path.join(ROOT, 'examples/mirror-queries.txt');

/**
 * Runs m2rag commands (each `['crawl', '--queries', …]`, say) on `store` with the mirror's config,
 * the mirror served meanwhile; a command that fails throws with its stderr. Returns the config's path.
 */
export async function runOnMirror(dir: string, store: string, commands: string[][]): Promise<string> {
  const server = await startStaticServer(path.join(CORPORA, 'wiki-ray-charles'));
  try {
    const config = path.join(dir, 'm2rag.yaml');
    await writeFile(config, `crawl:\n  search: local\n  site: ${server.url}/A/index.htm\n  allowPrivate: true\nimages:\n  minBytes: 2048\n  minPixels: 5000\n`);
    for (const command of commands) {
      const result = await runCli(['--store', store, '--config', config, ...command], { timeoutMs: 1_200_000 });
      if (result.code !== 0) throw new Error(`${command[0]} failed: ${result.stderr.slice(-2000)}`);
    }
    return config;
  } finally {
    await server.close();
  }
}
