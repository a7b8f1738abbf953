export { Store, DEFAULT_SQLITE_FILE, redact } from './store.ts';
export type {
  AssetRow,
  EdgeRow,
  OccurrenceRow,
  ProblemRow,
  ScanRow,
  AssetQuery,
  OpenOptions,
} from './store.ts';
export type { AssetInput, EdgeInput, KeyInput, OccurrenceInput, Batch } from './inputs.ts';
export { assetId, keyRef } from './inputs.ts';
export type { AssetKind, EdgeKind, OccurrenceStatus } from './schema.ts';
export { StoreError, type StoreErrorCode } from './error.ts';
