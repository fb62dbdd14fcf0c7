// Commands whose stage does not exist yet: they exit 3 with `not implemented yet: <stage>` and
// print nothing else. An area removes its entry here when it implements its command.
import type { Command } from 'commander';
import { NotImplementedError } from '../../core/errors.js';

const PENDING: Array<[name: string, description: string]> = [];

export function register(program: Command): void {
  for (const [name, description] of PENDING) {
    program
      .command(name)
      .description(`${description} (not implemented yet)`)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => {
        throw new NotImplementedError(name);
      });
  }
}
