import { constants, createPublicKey, getHashes, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { parsePssParams, parseSpki, type SignatureAlgorithm } from './algorithm.ts';
import { readOne } from './der.ts';
import { CoreError } from './error.ts';

/**
 * Signature checks through node:crypto for the algorithms an estate meets. The algorithm is ours
 * (SignatureAlgorithm, PSS parameters included) or a bare OID, so callers need not translate names.
 */

export interface VerifyOptions {
  /**
   * The hash to use when the algorithm names only a key type, as CMS does (rsaEncryption,
   * id-ecPublicKey, id-dsa with the hash in a separate digestAlgorithm). A hash named by the signature
   * algorithm itself always wins.
   */
  readonly digest?: string;
}

type Family = 'rsa' | 'rsa-pss' | 'ec' | 'dsa' | 'ed25519' | 'ed448';

interface Scheme {
  readonly family: Family;
  /** undefined: taken from VerifyOptions.digest; null: the scheme hashes internally (EdDSA). */
  readonly hash: string | null | undefined;
}

// The hash each signature OID implies (RFC 8017, RFC 5758, RFC 3279, NIST CSOR sigAlgs).
const SCHEMES: Record<string, Scheme> = {
  '1.2.840.113549.1.1.1': { family: 'rsa', hash: undefined },
  '1.2.840.113549.1.1.4': { family: 'rsa', hash: 'md5' },
  '1.2.840.113549.1.1.5': { family: 'rsa', hash: 'sha1' },
  '1.2.840.113549.1.1.14': { family: 'rsa', hash: 'sha224' },
  '1.2.840.113549.1.1.11': { family: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { family: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { family: 'rsa', hash: 'sha512' },
  '2.16.840.1.101.3.4.3.13': { family: 'rsa', hash: 'sha3-224' },
  '2.16.840.1.101.3.4.3.14': { family: 'rsa', hash: 'sha3-256' },
  '2.16.840.1.101.3.4.3.15': { family: 'rsa', hash: 'sha3-384' },
  '2.16.840.1.101.3.4.3.16': { family: 'rsa', hash: 'sha3-512' },
  '1.2.840.10045.2.1': { family: 'ec', hash: undefined },
  '1.2.840.10045.4.1': { family: 'ec', hash: 'sha1' },
  '1.2.840.10045.4.3.1': { family: 'ec', hash: 'sha224' },
  '1.2.840.10045.4.3.2': { family: 'ec', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { family: 'ec', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { family: 'ec', hash: 'sha512' },
  '2.16.840.1.101.3.4.3.9': { family: 'ec', hash: 'sha3-224' },
  '2.16.840.1.101.3.4.3.10': { family: 'ec', hash: 'sha3-256' },
  '2.16.840.1.101.3.4.3.11': { family: 'ec', hash: 'sha3-384' },
  '2.16.840.1.101.3.4.3.12': { family: 'ec', hash: 'sha3-512' },
  '1.2.840.10040.4.1': { family: 'dsa', hash: undefined },
  '1.2.840.10040.4.3': { family: 'dsa', hash: 'sha1' },
  '2.16.840.1.101.3.4.3.1': { family: 'dsa', hash: 'sha224' },
  '2.16.840.1.101.3.4.3.2': { family: 'dsa', hash: 'sha256' },
  '2.16.840.1.101.3.4.3.3': { family: 'dsa', hash: 'sha384' },
  '2.16.840.1.101.3.4.3.4': { family: 'dsa', hash: 'sha512' },
  '1.3.101.112': { family: 'ed25519', hash: null },
  '1.3.101.113': { family: 'ed448', hash: null },
};

const PSS_OID = '1.2.840.113549.1.1.10';

// Which node key types can make a signature of each family: an RSA key may sign PSS, an RSA-PSS key
// may sign nothing else.
const KEY_TYPES: Record<Family, readonly string[]> = {
  rsa: ['rsa'],
  'rsa-pss': ['rsa', 'rsa-pss'],
  ec: ['ec'],
  dsa: ['dsa'],
  ed25519: ['ed25519'],
  ed448: ['ed448'],
};

let nodeHashes: Set<string> | undefined;

/** Whether node:crypto can compute this hash (names as in oid.ts HASH_ALGORITHMS). */
export function hashSupported(name: string): boolean {
  nodeHashes ??= new Set(getHashes());
  return nodeHashes.has(name);
}

function unsupported(message: string): never {
  throw new CoreError('KEY_UNSUPPORTED', message);
}

// Callers that check many signatures by one issuer pass the same SPKI bytes object each time: the
// imported key is kept for as long as those bytes live, so OpenSSL decodes it once, not per signature.
const loaded = new WeakMap<Uint8Array, KeyObject>();

function loadKey(spkiDer: Uint8Array): KeyObject {
  let k = loaded.get(spkiDer);
  if (!k) loaded.set(spkiDer, (k = importKey(spkiDer)));
  return k;
}

function importKey(spkiDer: Uint8Array): KeyObject {
  try {
    return createPublicKey({
      key: Buffer.from(spkiDer.buffer, spkiDer.byteOffset, spkiDer.byteLength),
      format: 'der',
      type: 'spki',
    });
  } catch {
    // Tell a key we read but node cannot use (ML-DSA on Node 20, SM2) from bytes that are no key at all.
    let algorithm: string;
    try {
      algorithm = parseSpki(spkiDer, readOne(spkiDer)).algorithm;
    } catch (e) {
      throw new CoreError('KEY_MALFORMED', `not a SubjectPublicKeyInfo: ${(e as Error).message}`, {
        cause: e,
      });
    }
    return unsupported(`node:crypto cannot load a ${algorithm} public key`);
  }
}

/**
 * Verify `signature` over `data` with the key in `spkiDer`. True or false for a signature that does
 * or does not verify (a key of another type than the algorithm's counts as not verifying); a
 * CoreError 'KEY_UNSUPPORTED' for an algorithm or parameter set node:crypto cannot check, and
 * 'KEY_MALFORMED' when `spkiDer` is no SubjectPublicKeyInfo.
 */
export function verifySignature(
  spkiDer: Uint8Array,
  alg: SignatureAlgorithm | string,
  data: Uint8Array,
  signature: Uint8Array,
  opts: VerifyOptions = {},
): boolean {
  const oid = typeof alg === 'string' ? alg : alg.oid;
  let family: Family;
  let hash: string | null | undefined;
  let saltLength: number | undefined;
  if (oid === PSS_OID) {
    // A bare OID carries no parameters, so RFC 4055's defaults apply (SHA-1, salt of 20).
    const pss =
      (typeof alg === 'string' ? undefined : alg.pss) ?? parsePssParams(new Uint8Array(0), undefined);
    if (pss.mgf !== 'mgf1') unsupported(`RSASSA-PSS with mask generation ${pss.mgf}`);
    // node:crypto has no separate MGF1 hash for verification; it always uses the message hash.
    if (pss.mgfHash !== pss.hash) unsupported(`RSASSA-PSS with MGF1 over ${pss.mgfHash} and ${pss.hash}`);
    if (pss.trailerField !== 1) unsupported(`RSASSA-PSS trailer field ${pss.trailerField}`);
    family = 'rsa-pss';
    hash = pss.hash;
    saltLength = pss.saltLength;
  } else {
    const scheme = SCHEMES[oid];
    if (!scheme) {
      const name = typeof alg === 'string' ? oid : alg.name;
      return unsupported(`signature algorithm ${name} is not supported`);
    }
    family = scheme.family;
    hash = scheme.hash === undefined ? opts.digest : scheme.hash;
    if (hash === undefined) unsupported(`signature algorithm ${oid} needs a digest algorithm to go with it`);
  }
  if (hash !== null && !hashSupported(hash)) unsupported(`hash ${hash} is not supported by node:crypto`);
  const key = loadKey(spkiDer);
  if (!KEY_TYPES[family].includes(key.asymmetricKeyType ?? '')) return false;
  try {
    if (family === 'rsa-pss')
      return nodeVerify(
        hash,
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: saltLength! },
        signature,
      );
    if (family === 'ec' || family === 'dsa')
      return nodeVerify(hash, data, { key, dsaEncoding: 'der' }, signature);
    return nodeVerify(hash, data, key, signature);
  } catch {
    // Arguments are checked above, so what OpenSSL refuses here is a signature this key cannot have
    // made: parameters outside an RSA-PSS key's restrictions, a salt longer than the modulus allows.
    return false;
  }
}

/** verifySignature for CMS's habit of naming only the key type; `digestName` supplies the hash then. */
export function verifyWithDigestAlg(
  spkiDer: Uint8Array,
  alg: SignatureAlgorithm | string,
  digestName: string,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  return verifySignature(spkiDer, alg, data, signature, { digest: digestName });
}
