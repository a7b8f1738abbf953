import { createHash } from 'node:crypto';
import type { Digest, EvidenceLog } from '@keywarden/evidence';
import { requireQuorumFromLog } from './approvals/log-records.ts';
import { requestDigest, type ApprovalRequest } from './approvals/request.ts';
import { GovernError } from './error.ts';
import type { Hsm, KeyRef, SignMechanism } from './hsm/hsm.ts';
import { takeInventory } from './hsm/inventory.ts';

const digest = (b: Uint8Array): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface ApprovedSignature {
  readonly signature: Uint8Array;
  /** SHA-256 of the token key's SubjectPublicKeyInfo: who can check the signature. */
  readonly keyIdentity: string;
  /** Log indices of the intent and the completion entries. */
  readonly entries: readonly [number, number];
}

/**
 * A signing with a governed key: nothing reaches the token unless the request's quorum verifies
 * from the log (fail closed) and the intent is durably logged; the completion entry carries the
 * signature's digest. When the request names `parameters.keyIdentity`, the token key must be
 * exactly that key, so approvers approve a key and not a label someone could re-point.
 */
export async function signWithApproval(o: {
  readonly log: EvidenceLog;
  readonly hsm: Hsm;
  readonly modulePath: string;
  readonly request: ApprovalRequest;
  readonly key: KeyRef;
  readonly mechanism: SignMechanism;
  readonly data: Uint8Array;
  readonly actor: string;
  readonly at?: number;
}): Promise<ApprovedSignature> {
  const started = Date.now();
  const at = o.at ?? started;
  if (o.request.operation !== 'sign')
    throw new GovernError('BAD_ARGUMENT', `request is for ${o.request.operation}, not sign`);
  requireQuorumFromLog(o.log, o.request, at);

  const held = takeInventory(o.hsm, o.modulePath).objects.find(
    (x) =>
      x.class === 'private-key' &&
      (o.key.id === undefined || x.id === o.key.id) &&
      (o.key.label === undefined || x.label === o.key.label),
  );
  const keyIdentity = held?.key?.keyId;
  if (!keyIdentity)
    throw new GovernError('HSM_OPERATION', 'no private key with a known identity matches the key reference');
  const approved = o.request.parameters.keyIdentity;
  if (approved !== undefined && approved !== keyIdentity)
    throw new GovernError(
      'QUORUM_NOT_MET',
      `the approved key is ${String(approved).slice(0, 16)}…, the token key is ${keyIdentity.slice(0, 16)}…; refused`,
    );

  const base = {
    type: 'key.operation' as const,
    operation: 'sign' as const,
    keyId: o.request.keyId,
    requestDigest: requestDigest(o.request),
    actor: o.actor,
  };
  const intent = await o.log.append({ ...base, at: new Date(at).toISOString() });
  const signature = await o.hsm.sign(o.key, o.mechanism, o.data);
  const done = await o.log.append({
    ...base,
    at: new Date(at + (Date.now() - started)).toISOString(),
    outputDigest: digest(signature),
  });
  return { signature, keyIdentity, entries: [intent, done] };
}
