import type { Certificate } from '@keywarden/core';
import type { SignatureCache } from './signature.ts';

export interface CertInput {
  readonly der: Uint8Array;
  readonly cert: Certificate;
}
export type Purpose = 'code-signing' | 'client-auth' | 'server-auth' | 'any';
export interface ValidationOptions {
  readonly at: number; // epoch ms; required: time is an input
  readonly purpose?: Purpose; // default 'any'
  readonly name?: string; // DNS name (or IP literal) the leaf must be valid for
  readonly initialPolicies?: readonly string[]; // default anyPolicy
  readonly requireExplicitPolicy?: boolean;
  readonly inhibitPolicyMapping?: boolean;
  readonly inhibitAnyPolicy?: boolean;
  readonly signatureCache?: SignatureCache;
}
// index: position in the path, 0 = leaf; the anchor is path.length-1
export interface PathError {
  readonly rule: string;
  readonly index: number;
  readonly message: string;
}
export interface PathResult {
  readonly valid: boolean;
  readonly path: readonly string[]; // SHA-256 fingerprints, leaf first, anchor last
  readonly errors: readonly PathError[];
  readonly policies?: readonly string[]; // authorities-constrained policy set, when any
  readonly warnings?: readonly PathError[];
}
