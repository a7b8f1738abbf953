import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { parseSpki, type PublicKeyInfo } from '../algorithm.ts';
import { readOne, toBuffer } from '../der.ts';
import { CoreError, type CoreErrorCode } from '../error.ts';
import type { KeyInfo } from '../observation.ts';

/**
 * The one road to a key identity. Whatever container a key came from, we end with SPKI DER and hash
 * that with parseSpki, so a key seen as a certificate, PEM, SSH line or JWK gets the same keyId.
 */

export function toKeyInfo(p: PublicKeyInfo): KeyInfo {
  return {
    keyId: p.keyId,
    algorithm: p.algorithm,
    ...(p.size !== undefined && { size: p.size }),
    ...(p.curve !== undefined && { curve: p.curve }),
  };
}

export function keyInfoFromSpki(spki: Uint8Array): KeyInfo {
  return toKeyInfo(parseSpki(spki, readOne(spki)));
}

/**
 * Run a node:crypto call and turn its failure into a CoreError. Only the error code is kept: OpenSSL
 * messages are fixed strings today, but nothing guarantees they will never quote input bytes.
 */
export function viaNode<T>(code: CoreErrorCode, what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof CoreError) throw e;
    const reason = (e as { code?: unknown }).code;
    throw new CoreError(
      code,
      `${what} rejected by node:crypto (${typeof reason === 'string' ? reason : 'error'})`,
    );
  }
}

/** Export a public KeyObject (or the public half of a private one) as SPKI and identify it. */
export function keyInfoFromKeyObject(key: KeyObject, code: CoreErrorCode, what: string): KeyInfo {
  const spki = viaNode(code, what, () =>
    (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' }),
  );
  return keyInfoFromSpki(spki);
}

/** Re-export SPKI through OpenSSL so hand-assembled DER is byte-identical to what other paths produce. */
export function canonicalSpkiKeyInfo(spki: Uint8Array, code: CoreErrorCode, what: string): KeyInfo {
  const key = viaNode(code, what, () =>
    createPublicKey({ key: toBuffer(spki), format: 'der', type: 'spki' }),
  );
  return keyInfoFromKeyObject(key, code, what);
}

export function keyInfoFromJwk(jwk: JsonWebKey, code: CoreErrorCode, what: string): KeyInfo {
  const key = viaNode(code, what, () => createPublicKey({ key: jwk, format: 'jwk' }));
  return keyInfoFromKeyObject(key, code, what);
}
