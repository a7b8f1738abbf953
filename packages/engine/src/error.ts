import { KeywardenError } from '@keywarden/core';

export type EngineErrorCode =
  | 'INPUT_MISSING' // a path to scan does not exist
  | 'BAD_ARGUMENT';

export class EngineError extends KeywardenError<EngineErrorCode> {}
