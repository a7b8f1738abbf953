import type { JsonWebKey } from 'node:crypto';
import type { KeyInfo } from '../observation.ts';
import { dsaKeyInfo } from './dsa.ts';
import { keyInfoFromJwk } from './key-info.ts';
import { SshReader, sshMalformed } from './ssh-wire.ts';

/**
 * SSH public key blobs (RFC 4253 6.6, RFC 5656, RFC 8709, OpenSSH PROTOCOL.u2f). Each is mapped to
 * the SPKI of the same key, so an authorized_keys line and the certificate or PEM for the same key
 * share one keyId. Security-key (sk-*) types are FIDO credentials bound to an application string and
 * have no SPKI counterpart: they get algorithm and curve, and no keyId.
 */

// Maps, not object literals: type names come from the input, and 'constructor' is a valid name.
const ECDSA_CURVES: ReadonlyMap<string, { crv: string; coord: number }> = new Map([
  ['nistp256', { crv: 'P-256', coord: 32 }],
  ['nistp384', { crv: 'P-384', coord: 48 }],
  ['nistp521', { crv: 'P-521', coord: 66 }],
]);

const OKP: ReadonlyMap<string, { crv: string; length: number }> = new Map([
  ['ssh-ed25519', { crv: 'Ed25519', length: 32 }],
  ['ssh-ed448', { crv: 'Ed448', length: 57 }],
]);

export const SK_ED25519 = 'sk-ssh-ed25519@openssh.com';
export const SK_ECDSA = 'sk-ecdsa-sha2-nistp256@openssh.com';

export const SSH_KEY_TYPES: readonly string[] = [
  'ssh-rsa',
  'ssh-dss',
  'ssh-ed25519',
  'ssh-ed448',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  SK_ED25519,
  SK_ECDSA,
];

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** JWK wants the unsigned magnitude; an mpint keeps a zero octet in front of a high bit. */
function magnitude(mpint: Uint8Array): Uint8Array {
  let s = 0;
  while (s < mpint.length - 1 && mpint[s] === 0) s++;
  return mpint.subarray(s);
}

function fromJwk(jwk: JsonWebKey, type: string): KeyInfo {
  return keyInfoFromJwk(jwk, 'SSH_MALFORMED', `${type} public key`);
}

/** The point of an ECDSA key, checked against its curve name; undefined when it is not uncompressed. */
function ecdsaPoint(
  r: SshReader,
  type: string,
  curveName: string,
): { x: Uint8Array; y: Uint8Array } | undefined {
  const curve = ECDSA_CURVES.get(curveName)!;
  const id = r.name('curve identifier');
  if (id !== curveName) sshMalformed(`${type} key names curve ${id}`);
  const q = r.bytes('EC point');
  // Compressed points are legal in RFC 5656 but unused by OpenSSH; JWK cannot carry them.
  if (q.length !== 1 + 2 * curve.coord || q[0] !== 0x04) return undefined;
  return { x: q.subarray(1, 1 + curve.coord), y: q.subarray(1 + curve.coord) };
}

/**
 * Read the type-specific public fields that follow the type name, in a plain key blob or inside a
 * certificate (whose base key type is passed). Unknown types cannot be skipped, so they throw.
 */
export function readSshKeyFields(r: SshReader, type: string): KeyInfo {
  if (type === 'ssh-rsa') {
    const e = r.mpint('RSA exponent');
    const n = r.mpint('RSA modulus');
    return fromJwk({ kty: 'RSA', n: b64u(magnitude(n)), e: b64u(magnitude(e)) }, type);
  }
  if (type === 'ssh-dss') {
    const p = r.mpint('DSA p');
    const q = r.mpint('DSA q');
    const g = r.mpint('DSA g');
    const y = r.mpint('DSA y');
    return dsaKeyInfo(p, q, g, y, 'SSH_MALFORMED', 'ssh-dss public key');
  }
  const okp = OKP.get(type);
  if (okp) {
    const x = r.bytes('public key');
    if (x.length !== okp.length) sshMalformed(`${type} key of ${x.length} bytes`);
    return fromJwk({ kty: 'OKP', crv: okp.crv, x: b64u(x) }, type);
  }
  if (type.startsWith('ecdsa-sha2-') && ECDSA_CURVES.has(type.slice(11))) {
    const curveName = type.slice(11);
    const point = ecdsaPoint(r, type, curveName);
    const crv = ECDSA_CURVES.get(curveName)!.crv;
    if (!point) return { algorithm: 'EC', size: Number(crv.slice(2)), curve: crv };
    return fromJwk({ kty: 'EC', crv, x: b64u(point.x), y: b64u(point.y) }, type);
  }
  if (type === SK_ED25519) {
    const x = r.bytes('public key');
    if (x.length !== 32) sshMalformed(`${type} key of ${x.length} bytes`);
    r.text('application');
    return { algorithm: 'Ed25519-SK', size: 255 };
  }
  if (type === SK_ECDSA) {
    ecdsaPoint(r, type, 'nistp256');
    r.text('application');
    return { algorithm: 'ECDSA-SK', size: 256, curve: 'P-256' };
  }
  return sshMalformed(`unsupported SSH key type ${type}`);
}

/** A plain (non-certificate) public key blob, e.g. the base64 field of an authorized_keys line. */
export function parseSshPublicKey(blob: Uint8Array): KeyInfo {
  const r = new SshReader(blob);
  const type = r.name('key type');
  const key = readSshKeyFields(r, type);
  r.expectEnd(`${type} public key`);
  return key;
}
