import { DomainError, isDomainError } from '../../domain/errors';

/** An input error raised while running a sub-command carries that sub-command's usage line. */
export class UsageError extends DomainError {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super('invalid_input', message);
  }
}

export async function withUsage<T>(usage: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isDomainError(error) && error.code === 'invalid_input' && !(error instanceof UsageError)) {
      throw new UsageError(error.message, usage);
    }
    throw error;
  }
}

export function missing(what: string, usage: string): never {
  throw new UsageError(`${what} is missing.`, usage);
}
