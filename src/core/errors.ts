// Exit codes: 0 ok, 1 a stage failed as a whole, 2 the user's input is wrong, 3 not implemented yet.

/** A mistake the user can fix: printed as one line (what, where, how to fix), exit 2. */
export class UserError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A command whose stage does not exist yet: exit 3, and never any made-up output. */
export class NotImplementedError extends Error {
  readonly exitCode = 3;
  constructor(stage: string) {
    super(`not implemented yet: ${stage}`);
    this.name = 'NotImplementedError';
  }
}

/** A stage that ran but could not do any of its work (for example every model request failed). */
export class StageFailedError extends Error {
  readonly exitCode = 1;
  constructor(message: string) {
    super(message);
    this.name = 'StageFailedError';
  }
}

/** The failures m2rag expects and explains in one line (a user's mistake, a stage that failed). */
export function isExpectedError(error: unknown): error is UserError | NotImplementedError | StageFailedError {
  return error instanceof UserError || error instanceof NotImplementedError || error instanceof StageFailedError;
}
