import { KeywardenError } from '@keywarden/core';

export type ScanErrorCode = 'SCAN_WORKER_FAILED'; // a detector worker died or answered with an error

export class ScanError extends KeywardenError<ScanErrorCode> {}
