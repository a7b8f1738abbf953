import { constants, createPublicKey, verify, type VerifyKeyObjectInput } from 'node:crypto';
import { GovernError } from '../error.ts';
import type { Hsm, SignMechanism } from '../hsm/hsm.ts';
import { describeObjects } from '../hsm/inventory.ts';
import type { HsmRecord } from './entry.ts';
import { keyPairSpec, signMechanism, type CeremonyStepDoc, type MechanismName } from './script.ts';

/** The private key with `id` as the inventory describes it, with identity and flags; undefined if absent. */
export function findGenerated(hsm: Hsm, id: string, label: string): HsmRecord | undefined {
  const token = hsm.token();
  const objects = describeObjects(token, hsm.objects());
  const priv = objects.filter((o) => o.class === 'private-key' && o.id === id);
  if (priv.length === 0) return undefined;
  if (priv.length > 1)
    throw new GovernError(
      'HSM_OPERATION',
      `token "${token.label}" holds ${priv.length} private keys with CKA_ID ${id}`,
    );
  const o = priv[0]!;
  if (o.label !== label)
    throw new GovernError(
      'HSM_OPERATION',
      `the private key with CKA_ID ${id} on "${token.label}" is labelled "${o.label ?? ''}", not "${label}"`,
    );
  if (!o.key || !o.spki)
    throw new GovernError(
      'HSM_OPERATION',
      `key ${id} on "${token.label}" has no key identity: ${o.keyProblem ?? 'unknown'}`,
    );
  return {
    token: token.label,
    serial: token.serial,
    label,
    id,
    keyId: o.key.keyId,
    algorithm: o.key.curve
      ? `${o.key.algorithm} ${o.key.curve}`
      : `${o.key.algorithm}${o.key.size ? ` ${o.key.size}` : ''}`,
    spki: o.spki,
    flags: o.flags,
    uri: o.uri,
  };
}

/**
 * Generates the step's key pair unless a resumed run finds it already made under the intended
 * CKA_ID (the earlier run crashed between the token and the log), then reads it back from the
 * inventory so what is logged is what the token reports, not what was asked for.
 */
export async function hsmGenerate(hsm: Hsm, step: CeremonyStepDoc, id: string): Promise<HsmRecord> {
  const spec = step.key!;
  const existing = findGenerated(hsm, id, spec.label);
  if (existing) return { ...existing, recovered: true };
  await hsm.generateKeyPair(keyPairSpec(spec.spec), { label: spec.label, id });
  const made = findGenerated(hsm, id, spec.label);
  if (!made)
    throw new GovernError(
      'HSM_OPERATION',
      `the key generated as CKA_ID ${id} is not on "${hsm.token().label}"`,
    );
  return made;
}

/** Checks a token's signature with the SPKI the generate step logged: a wrong key or mechanism fails here. */
export function signatureVerifies(
  spkiB64: string,
  mechanism: MechanismName,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(spkiB64, 'base64'), format: 'der', type: 'spki' });
    const m: SignMechanism = signMechanism(mechanism);
    if (m.kind === 'eddsa') return verify(null, data, key, signature);
    const input: VerifyKeyObjectInput = { key };
    if (m.kind === 'ecdsa') input.dsaEncoding = 'der';
    if (m.kind === 'rsa-pss') {
      input.padding = constants.RSA_PKCS1_PSS_PADDING;
      input.saltLength = m.saltLength ?? constants.RSA_PSS_SALTLEN_DIGEST;
    }
    return verify(m.hash, data, input, signature);
  } catch {
    return false;
  }
}

export async function hsmSign(
  hsm: Hsm,
  step: CeremonyStepDoc,
  key: HsmRecord,
  data: Uint8Array,
): Promise<Uint8Array> {
  const sig = await hsm.sign({ id: key.id, label: key.label }, signMechanism(step.mechanism!), data);
  if (!key.spki || !signatureVerifies(key.spki, step.mechanism!, data, sig))
    throw new GovernError(
      'HSM_OPERATION',
      `the token's ${step.mechanism} signature does not verify under the key generated in step ${step.signWith}`,
    );
  return sig;
}
