import { KeywardenError } from '@keywarden/core';

export type ScanErrorCode =
  | 'SCAN_ROOT_MISSING' // a path given on the command line does not exist
  | 'SCAN_WORKER_FAILED';

export class ScanError extends KeywardenError<ScanErrorCode> {}
