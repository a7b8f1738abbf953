import { KeywardenError } from '@keywarden/core';

export type EvidenceErrorCode =
  | 'LOG_CORRUPT' // a tile, entry or checkpoint does not verify; the message names which and why
  | 'LOG_WRITE' // an entry could not be made durable, so the operation it records must not proceed
  | 'LOG_LOCKED' // another writer holds the log's lock file
  | 'NOTE_INVALID' // a signed note is malformed or no trusted signature verifies
  | 'BAD_ARGUMENT';

export class EvidenceError extends KeywardenError<EvidenceErrorCode> {}
