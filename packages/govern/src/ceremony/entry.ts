import { sign, verify, type KeyObject } from 'node:crypto';
import { canonicalize, type CeremonyStep, type Statement } from '@keywarden/evidence';
import type { Digest } from '../policy/canonical.ts';
import type { HsmKeyFlags } from '../hsm/inventory.ts';
import { publicKeyObject } from '../roster/public-key.ts';
import type { ActionType, CeremonyScriptDoc } from './script.ts';

export const CEREMONY_KIND = 'keywarden/ceremony';

/**
 * Phases of a ceremony in the log. `intent` is written (and made durable) before an HSM operation
 * runs; `step` records what a step did; `exception` a deviation with who, what and why.
 */
export type Phase = 'start' | 'intent' | 'step' | 'exception';

/** What an HSM step did, as the token reported it. Public values only. */
export interface HsmRecord {
  token: string;
  serial: string;
  /** CKA_LABEL and CKA_ID (hex) of the key pair. */
  label: string;
  id: string;
  /** Key identity: SHA-256 of the SubjectPublicKeyInfo DER, hex. */
  keyId?: string;
  algorithm?: string;
  /** The SPKI DER, base64, so the report's reader can check what the key signed. */
  spki?: string;
  /** The private key's protection flags as the inventory read them back after the operation. */
  flags?: HsmKeyFlags;
  uri?: string;
  mechanism?: string;
  /** The signature made (base64), for hsm-sign. */
  signature?: string;
  /** True when a resumed step found the key the interrupted run had already generated. */
  recovered?: boolean;
}

/** Every ceremony entry is a ceremony.step statement with these extra fields. */
export interface CeremonyEntry extends CeremonyStep {
  kind: typeof CEREMONY_KIND;
  phase: Phase;
  stepId: string;
  actor: string;
  action?: ActionType;
  witnesses?: string[];
  /** start: the script (whole), its digest, and who takes part in which role. */
  script?: CeremonyScriptDoc;
  scriptDigest?: Digest;
  participants?: Record<string, string>;
  /** approval: the request whose quorum the step cites (auditApprovals re-judges it too). */
  requestDigest?: Digest;
  hsm?: HsmRecord;
  /** exception: what deviated and why. */
  deviation?: string;
  reason?: string;
  /** Base64 Ed25519 signatures by the performer and every witness over signedBytes(entry). */
  signatures: Record<string, string>;
}

export const isCeremonyEntry = (s: Statement): s is CeremonyEntry =>
  s.type === 'ceremony.step' && (s as Partial<CeremonyEntry>).kind === CEREMONY_KIND;

/** The bytes each signer signs: the canonical JSON of the entry without its signatures. */
export function signedBytes(e: Omit<CeremonyEntry, 'signatures'> | CeremonyEntry): Buffer {
  // canonicalize drops undefined members, so this is the entry minus its signatures.
  return Buffer.from(canonicalize({ ...e, signatures: undefined }), 'utf8');
}

export function signEntry(e: Omit<CeremonyEntry, 'signatures'>, key: KeyObject): string {
  return sign(null, signedBytes(e), key).toString('base64');
}

/** True when `signature` is `publicKey`'s (raw Ed25519, base64) over the entry; malformed input is false. */
export function verifyEntrySignature(e: CeremonyEntry, signature: string, publicKey: string): boolean {
  try {
    return verify(null, signedBytes(e), publicKeyObject(publicKey), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
