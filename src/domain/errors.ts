/**
 * A rule was broken or a request cannot be served. `message` is shown to the user as is: it says
 * what was wrong and how to fix it, and never contains secret input.
 */
export type ErrorCode =
  | 'invalid_input'
  | 'invalid_key'
  | 'private_key'
  | 'not_found'
  | 'conflict'
  | 'forbidden'
  | 'busy'
  | 'storage_unavailable';

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The input field at fault, when the request came from a form. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const invalid = (message: string, field?: string): DomainError =>
  new DomainError('invalid_input', message, field);

export const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;
