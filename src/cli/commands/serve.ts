// `m2rag serve`: the dataset viewer (src/viewer) on loopback unless --host says otherwise. It does
// not hold the store while idle, and a build that starts while it does goes through it, so a build
// can run beside it (see src/viewer/store-lease.ts).
import { access } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { UserError } from '../../core/errors.js';
import { globalOptions, parseNonNegativeInt } from './common.js';
import { holdExitGrace } from '../exit-grace.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export function register(program: Command): void {
  program
    .command('serve')
    .description('browse the store in a web browser: queries, pages, images, answers, metrics, and human ratings')
    .addOption(new Option('--port <n>', 'port to listen on (0 picks a free one)').argParser(parseNonNegativeInt).default(8700))
    .option('--host <address>', 'interface to bind; anything but loopback exposes the store to the network', '127.0.0.1')
    .action(async (options: { port: number; host: string }, command: Command) => {
      const { store } = globalOptions(command);
      try {
        await access(path.join(store, 'db'));
      } catch {
        throw new UserError(`no store at ${store} (it has no db/ directory): pass --store <dir> of a store a build wrote`);
      }
      if (!LOOPBACK.has(options.host)) {
        process.stderr.write(`m2rag: warning: serving on ${options.host}, not loopback: anyone who can reach this address can read the store and add ratings\n`);
      }
      const { createViewer } = await import('../../viewer/server.js');
      const { StoreBusyError } = await import('../../viewer/store-lease.js');
      const { app, lease } = await createViewer({ storeDir: store });
      try {
        await lease.use(async () => undefined);
      } catch (error) {
        if (!(error instanceof StoreBusyError)) throw error;
        process.stderr.write(`m2rag: warning: ${error.message}; until then pages answer 503\n`);
      }
      try {
        await app.listen({ port: options.port, host: options.host });
      } catch (error) {
        throw new UserError(`cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`);
      }
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
      process.stdout.write(`m2rag viewer: http://${shownHost}:${port}/ (store ${store}; Ctrl-C stops it)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      // A build writing through this viewer would be cut off: it finishes first (a second Ctrl-C does not wait).
      await lease.close((guests) => {
        holdExitGrace();
        process.stderr.write(`m2rag: waiting for ${guests} other process(es) using the store through this viewer (a build?) to finish; Ctrl-C again stops now and cuts them off\n`);
      });
      await app.close();
    });
}
