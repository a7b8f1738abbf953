import { KeywardenError } from '@keywarden/core';

export type StoreErrorCode =
  | 'STORE_OPEN' // the database could not be opened or migrated
  | 'STORE_WRITE'
  | 'STORE_NOT_FOUND';

export class StoreError extends KeywardenError<StoreErrorCode> {}
