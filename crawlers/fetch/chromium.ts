// Debian's Chromium for `--render`: found on the usual paths or given with `--chromium`; never downloaded.
import { access, constants } from 'node:fs/promises';
import { UserError } from '../../src/core/errors.js';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium', '/usr/bin/google-chrome'];

export async function findChromium(configured?: string): Promise<string> {
  for (const candidate of configured ? [configured] : CANDIDATES) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new UserError(
    configured
      ? `--chromium ${configured}: not an executable file`
      : `--render needs Chromium; none found at ${CANDIDATES.join(', ')} (install it with apt-get install chromium, or pass --chromium <path>)`,
  );
}
