/**
 * UsageError is bad input a user can fix: the CLI prints its message as one line and exits with 2.
 * Messages name the problem and the fix: "unknown zone 'DEE': did you mean DE? (see `wattprint zones`)".
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

/** RunBusyError is a run that a live process on this host is already tracking. */
export class RunBusyError extends UsageError {
  constructor(message: string, readonly ownerPid: number) {
    super(message);
  }
}

