import { KeywardenError } from '@keywarden/core';

export type EngineErrorCode =
  | 'INPUT_MISSING' // a path to scan does not exist
  | 'INPUT_INVALID' // an input document (e.g. a CBOM) is malformed; nothing of it was stored
  | 'BAD_ARGUMENT';

export class EngineError extends KeywardenError<EngineErrorCode> {}
