export { Store, DEFAULT_SQLITE_FILE, redact } from './store.ts';
export type { AssetRow, OccurrenceRow, ProblemRow, ScanRow, AssetQuery, OpenOptions } from './store.ts';
export type { AssetInput, KeyInput, OccurrenceInput, Batch } from './inputs.ts';
export { assetId } from './inputs.ts';
export type { AssetKind, OccurrenceStatus } from './schema.ts';
export { StoreError, type StoreErrorCode } from './error.ts';
