#!/usr/bin/env node
// Entry point: runs the TypeScript CLI through tsx's loader, so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
// A reader that closes the pipe early (`m2rag stats | head -1`) has all it wanted: exit quietly.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
const { main } = await import('../src/cli/cli.ts');
const code = await main(process.argv);
// Exit explicitly (crawler and model libraries can leave timers behind), but only once stdout and
// stderr are flushed: a large piped `--json` output would otherwise be cut off.
const flushed = (stream) => new Promise((resolve) => stream.write('', resolve));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
