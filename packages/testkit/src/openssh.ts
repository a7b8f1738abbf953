/**
 * OpenSSH key files for Ed25519 keys made with node:crypto: the unencrypted "openssh-key-v1"
 * private key container (OpenSSH PROTOCOL.key) and the one-line public key (RFC 4253 6.6, RFC 8709).
 */
import type { KeyObject } from 'node:crypto';

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/** SSH wire "string": uint32 length then the bytes. */
function sshString(v: Uint8Array | string): Buffer {
  const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  return Buffer.concat([u32(bytes.length), bytes]);
}

function rawEd25519(privateKey: KeyObject): { seed: Buffer; pub: Buffer } {
  if (privateKey.asymmetricKeyType !== 'ed25519' || privateKey.type !== 'private')
    throw new TypeError('an Ed25519 private key is required');
  const jwk = privateKey.export({ format: 'jwk' });
  if (!jwk.d || !jwk.x) throw new TypeError('Ed25519 key without d or x');
  return { seed: Buffer.from(jwk.d, 'base64url'), pub: Buffer.from(jwk.x, 'base64url') };
}

/** The public key blob: string "ssh-ed25519", string key (32 octets). */
export function ed25519PublicBlob(pub: Uint8Array): Buffer {
  return Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
}

export interface OpenSshKeyFiles {
  /** "-----BEGIN OPENSSH PRIVATE KEY-----" file, unencrypted (cipher and kdf "none"). */
  readonly privateKey: string;
  /** authorized_keys style line: "ssh-ed25519 AAAA... comment\n". */
  readonly publicKey: string;
}

/**
 * Encode an Ed25519 private key as OpenSSH writes it with `ssh-keygen -N ''`. `checkint` is the
 * random 32-bit value repeated twice in the private section (fixed here so output is reproducible).
 */
export function openSshEd25519(privateKey: KeyObject, comment: string, checkint: number): OpenSshKeyFiles {
  const { seed, pub } = rawEd25519(privateKey);
  const blob = ed25519PublicBlob(pub);
  const section = [
    u32(checkint),
    u32(checkint),
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])), // OpenSSH keeps the 32-byte seed followed by the public key
    sshString(comment),
  ];
  let priv = Buffer.concat(section);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i); // block size 8 for cipher "none"
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    u32(1),
    sshString(blob),
    sshString(priv),
  ]);
  const b64 = body.toString('base64');
  let text = '-----BEGIN OPENSSH PRIVATE KEY-----\n';
  for (let i = 0; i < b64.length; i += 70) text += b64.slice(i, i + 70) + '\n';
  text += '-----END OPENSSH PRIVATE KEY-----\n';
  return { privateKey: text, publicKey: `ssh-ed25519 ${blob.toString('base64')} ${comment}\n` };
}
