import { createPublicKey, type KeyObject } from 'node:crypto';
import { GovernError } from '../error.ts';

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * A person's Ed25519 public key as SPKI PEM, or the raw 32 bytes in base64 or hex; returned as the
 * raw key in base64, the one form the roster stores.
 */
export function normalisePublicKey(text: string, who: string): string {
  const t = text.trim();
  if (t.length > 4096) throw new GovernError('BAD_ARGUMENT', `${who}: public key text is too long`);
  if (t.startsWith('-----BEGIN')) {
    let key: KeyObject;
    try {
      key = createPublicKey({ key: t, format: 'pem' });
    } catch (err) {
      throw new GovernError('BAD_ARGUMENT', `${who}: not a PEM public key`, { cause: err });
    }
    if (key.asymmetricKeyType !== 'ed25519')
      throw new GovernError(
        'BAD_ARGUMENT',
        `${who}: the key is ${key.asymmetricKeyType}, approvals need Ed25519`,
      );
    return key
      .export({ format: 'der', type: 'spki' })
      .subarray(ED25519_SPKI_PREFIX.length)
      .toString('base64');
  }
  const raw = /^[0-9a-fA-F]{64}$/.test(t)
    ? Buffer.from(t, 'hex')
    : /^[A-Za-z0-9+/]{43}=$/.test(t)
      ? Buffer.from(t, 'base64')
      : undefined;
  if (!raw || raw.length !== 32)
    throw new GovernError(
      'BAD_ARGUMENT',
      `${who}: expected an Ed25519 SPKI PEM or 32 raw bytes in base64 or hex`,
    );
  return raw.toString('base64');
}

/** The node:crypto key for a stored raw public key. */
export function publicKeyObject(raw64: string): KeyObject {
  return createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(raw64, 'base64')]),
    format: 'der',
    type: 'spki',
  });
}
