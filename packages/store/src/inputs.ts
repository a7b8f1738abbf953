import type { AssetKind, EdgeKind, OccurrenceStatus } from './schema.ts';

/** What the engine hands the store for one batch. Nothing here may hold private key material. */
export interface AssetInput {
  readonly kind: AssetKind;
  readonly identity: string;
  readonly keyId?: string;
  readonly subject?: string;
  readonly issuer?: string;
  readonly serial?: string;
  readonly notBefore?: number;
  readonly notAfter?: number;
  readonly algorithm?: string;
  readonly size?: number;
  readonly curve?: string;
  readonly signatureAlgorithm?: string;
  readonly ski?: string;
  readonly aki?: string;
  readonly isCa?: boolean;
  readonly selfSigned?: boolean;
  /** The full parsed record, stored as JSON for the report and later analysis. */
  readonly record: unknown;
}

export interface KeyInput {
  readonly keyId: string;
  readonly algorithm: string;
  readonly size?: number;
  readonly curve?: string;
}

export interface OccurrenceInput {
  /** `${kind}:${identity}` of the asset; absent for unparseable, unreadable and refused entries. */
  readonly assetId?: string;
  readonly path: string;
  readonly offset: number;
  readonly encoding: string;
  readonly format: string;
  readonly layer: string;
  readonly status: OccurrenceStatus;
  readonly reason?: string;
  readonly private?: boolean;
  readonly encrypted?: boolean;
  readonly fileMode?: number;
}

export interface EdgeInput {
  readonly kind: EdgeKind;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

export interface Batch {
  readonly assets: AssetInput[];
  readonly keys: KeyInput[];
  readonly occurrences: OccurrenceInput[];
  /** Absent in batches that only carry inventory. */
  readonly edges?: EdgeInput[];
}

export function assetId(kind: AssetKind, identity: string): string {
  return `${kind}:${identity}`;
}

/** The `to` of an edge that names a key by its identity rather than by an asset. */
export function keyRef(keyId: string): string {
  return `key:${keyId}`;
}
