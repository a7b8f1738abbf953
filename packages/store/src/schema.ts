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

export type AssetKind =
  | 'certificate'
  | 'key'
  | 'csr'
  | 'crl'
  | 'ssh-certificate'
  /** One act of signing found on an artifact; identity is the SHA-256 of the signature value and the artifact's digest. */
  | 'signature'
  /** A signed container (firmware image, EFI binary, kernel module, bundle); identity is the SHA-256 of its bytes. */
  | 'artifact'
  /** A crypto library an SBOM declares; identity is the SHA-256 of its canonical name and version. */
  | 'crypto-library'
  /** One TUF/Uptane metadata file (a role at a version); identity is the SHA-256 of the file. */
  | 'role';

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

/**
 * How assets relate. `from_id` is an asset id; `to_id` is an asset id or `key:<key identity>` (a key
 * may be known only through a certificate or a signer, with no key asset of its own).
 */
export type EdgeKind =
  /** signature -> the artifact it covers */
  | 'covers'
  /** signature -> the key (and, when known, the certificate) that made it */
  | 'signed-by'
  /** artifact -> a certificate it carries (e.g. in its signature's certificate set) */
  | 'embeds'
  /** role -> a key it authorises to sign a role (TUF root, delegating targets); the reason names the role and threshold */
  | 'delegates'
  /** role -> a key it anchors trust in (TUF root keys: the update client's trust store) */
  | 'trusts'
  /** successor -> predecessor it was signed under (TUF root v(N+1) carrying a threshold of root vN's keys) */
  | 'supersedes';

export interface EdgesTable {
  /** Stable hash of (kind, from, to): a rescan touches instead of duplicating. */
  id: string;
  kind: EdgeKind;
  from_id: string;
  to_id: string;
  /** Why the edge holds, in words an auditor can check (e.g. 'CMS signer sid issuer+serial'). */
  reason: string;
  first_seen: number;
  last_seen: number;
}

export interface Database {
  scans: ScansTable;
  keys: KeysTable;
  assets: AssetsTable;
  occurrences: OccurrencesTable;
  edges: EdgesTable;
}
