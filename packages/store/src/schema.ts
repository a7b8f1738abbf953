/**
 * Table shapes shared by both dialects. Times are epoch milliseconds (bigint), booleans are 0/1
 * integers and structured records are JSON text, so the same SQL runs on SQLite and PostgreSQL.
 */
export interface ScansTable {
  id: string;
  started_at: number;
  finished_at: number | null;
  roots: string;
  status: 'running' | 'complete' | 'failed';
  summary: string | null;
}

export interface KeysTable {
  key_id: string;
  algorithm: string;
  size: number | null;
  curve: string | null;
  first_seen: number;
  last_seen: number;
}

export type AssetKind = 'certificate' | 'key' | 'csr' | 'crl' | 'ssh-certificate';

export interface AssetsTable {
  /** `${kind}:${identity}`: content identity makes the primary key, so dedupe needs no lookup. */
  id: string;
  kind: AssetKind;
  identity: string;
  key_id: string | null;
  subject: string | null;
  issuer: string | null;
  serial: string | null;
  not_before: number | null;
  not_after: number | null;
  algorithm: string | null;
  size: number | null;
  curve: string | null;
  signature_algorithm: string | null;
  ski: string | null;
  aki: string | null;
  is_ca: number;
  self_signed: number;
  record: string;
  first_seen: number;
  last_seen: number;
}

export type OccurrenceStatus = 'ok' | 'unparseable' | 'unreadable' | 'refused';

export interface OccurrencesTable {
  /** Stable hash of (asset or status, path, offset): a rescan updates instead of duplicating. */
  id: string;
  asset_id: string | null;
  first_scan_id: string;
  scan_id: string;
  path: string;
  offset: number;
  encoding: string;
  format: string;
  layer: string;
  status: OccurrenceStatus;
  reason: string | null;
  private: number;
  encrypted: number | null;
  file_mode: number | null;
  first_seen: number;
  last_seen: number;
}

export interface Database {
  scans: ScansTable;
  keys: KeysTable;
  assets: AssetsTable;
  occurrences: OccurrencesTable;
}
