/**
 * The one coded error class every package extends. `code` is a string-literal union per package so
 * the CLI and the API can map codes to exit codes and HTTP statuses in one table each.
 */
export class KeywardenError<Code extends string = string> extends Error {
  readonly code: Code;
  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export type CoreErrorCode =
  | 'DER_MALFORMED' // structure violates DER or our bounds
  | 'DER_UNEXPECTED' // well-formed, but not the structure the caller asked for
  | 'PEM_MALFORMED'
  | 'KEY_MALFORMED'
  | 'KEY_UNSUPPORTED'
  | 'SSH_MALFORMED'
  | 'JWK_MALFORMED'
  | 'TUF_MALFORMED';

export class CoreError extends KeywardenError<CoreErrorCode> {}

export function malformed(message: string): never {
  throw new CoreError('DER_MALFORMED', message);
}
