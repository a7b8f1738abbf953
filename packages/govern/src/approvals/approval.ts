import { createPrivateKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalize } from '@keywarden/evidence';
import { GovernError } from '../error.ts';
import type { Digest } from '../policy/canonical.ts';
import type { Operation } from '../policy/operations.ts';
import { publicKeyObject } from '../roster/public-key.ts';
import { requestDigest, type ApprovalRequest } from './request.ts';

export const APPROVAL_KIND = 'keywarden/approval';

/** The exact fields an approver signs (as RFC 8785 canonical JSON). */
export interface ApprovalPayload {
  kind: typeof APPROVAL_KIND;
  requestDigest: Digest;
  operation: Operation;
  keyId: string;
  policyDigest: Digest;
  approver: string;
  decision: 'approve' | 'reject';
  at: string;
}

export interface SignedApproval {
  payload: ApprovalPayload;
  /** Base64 Ed25519 signature over canonicalize(payload). */
  signature: string;
}

/** Reads the approver's own Ed25519 private key; the key stays in memory for this call only. */
export function readPrivateKey(file: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: readFileSync(file), format: 'pem' });
  } catch (err) {
    throw new GovernError('BAD_ARGUMENT', `${file}: not a readable PEM private key`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new GovernError(
      'BAD_ARGUMENT',
      `${file}: the key is ${key.asymmetricKeyType}, approvals are signed with Ed25519`,
    );
  return key;
}

export function signApproval(
  request: ApprovalRequest,
  approver: string,
  decision: 'approve' | 'reject',
  privateKey: KeyObject,
  at = Date.now(),
): SignedApproval {
  const payload: ApprovalPayload = {
    kind: APPROVAL_KIND,
    requestDigest: requestDigest(request),
    operation: request.operation,
    keyId: request.keyId,
    policyDigest: request.policyDigest,
    approver,
    decision,
    at: new Date(at).toISOString(),
  };
  return {
    payload,
    signature: sign(null, Buffer.from(canonicalize(payload)), privateKey).toString('base64'),
  };
}

/** True when the signature verifies under the raw Ed25519 public key; malformed input is false. */
export function verifyApproval(a: SignedApproval, publicKey: string): boolean {
  try {
    return verify(
      null,
      Buffer.from(canonicalize(a.payload)),
      publicKeyObject(publicKey),
      Buffer.from(a.signature, 'base64'),
    );
  } catch {
    return false;
  }
}
