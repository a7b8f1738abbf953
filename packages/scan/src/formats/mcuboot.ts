import { createPublicKey, hash, type KeyObject } from 'node:crypto';
import {
  isMcuboot,
  parseMcuboot,
  parseSpki,
  readOne,
  verifySignature,
  type McubootImage,
  type McubootSignature,
  type PublicKeyInfo,
  type SignatureAlgorithm,
  type SignatureSummary,
  type Signer,
  type Verification,
} from '@keywarden/core';
import type { Detected } from '../detect.ts';

/**
 * MCUboot images: the image hash is recomputed, each signature is checked when its key is known
 * (embedded PUBKEY, or a slot key the caller passes in, matched by MCUboot's KEYHASH) and reported
 * with the KEYHASH otherwise, so the inventory can tie it to the bootloader's key slots later.
 */

interface Known {
  readonly spki: Buffer;
  readonly info: PublicKeyInfo;
}

interface Check {
  readonly status: Verification;
  readonly reason?: string;
}

const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function known(spki: Buffer): Known {
  return { spki, info: parseSpki(spki, readOne(spki)) };
}

/** MCUboot embeds RSA keys as PKCS#1 RSAPublicKey, the others as SubjectPublicKeyInfo. */
function fromEmbedded(der: Buffer): { key: Known; format: 'pkcs1' | 'spki' } {
  let format: 'pkcs1' | 'spki' = 'pkcs1';
  let pub: KeyObject;
  try {
    pub = createPublicKey({ key: der, format: 'der', type: 'pkcs1' });
  } catch {
    format = 'spki';
    pub = createPublicKey({ key: der, format: 'der', type: 'spki' });
  }
  return { key: known(pub.export({ type: 'spki', format: 'der' })), format };
}

/** The caller's key whose MCUboot key hash (with the image's hash algorithm) equals `keyHash`. */
function byKeyHash(keys: readonly KeyObject[], alg: string, keyHash: string): Known | undefined {
  for (const k of keys) {
    try {
      const pub = k.type === 'private' ? createPublicKey(k) : k;
      const embedded =
        pub.asymmetricKeyType === 'rsa'
          ? pub.export({ type: 'pkcs1', format: 'der' })
          : pub.export({ type: 'spki', format: 'der' });
      if (hash(alg, embedded, 'hex') === keyHash) return known(pub.export({ type: 'spki', format: 'der' }));
    } catch {
      // a key node cannot export (secret keys, say) cannot be an MCUboot slot key
    }
  }
  return undefined;
}

const PSS_SHA256: SignatureAlgorithm = {
  oid: '1.2.840.113549.1.1.10',
  name: 'rsassaPss',
  pss: { hash: 'sha256', mgf: 'mgf1', mgfHash: 'sha256', saltLength: 32, trailerField: 1 },
};

const ECDSA: Record<string, SignatureAlgorithm> = {
  sha256: { oid: '1.2.840.10045.4.3.2', name: 'ecdsa-with-SHA256' },
  sha384: { oid: '1.2.840.10045.4.3.3', name: 'ecdsa-with-SHA384' },
  sha512: { oid: '1.2.840.10045.4.3.4', name: 'ecdsa-with-SHA512' },
};

const ED25519: SignatureAlgorithm = { oid: '1.3.101.112', name: 'Ed25519' };

/** Early imgtool padded ECDSA signatures with zeros to a fixed size; the DER length says where it ends. */
function unpadEcdsa(v: Buffer): Buffer {
  return v.length > 2 && v[0] === 0x30 && v[1]! < 0x80 && v[1]! + 2 <= v.length
    ? v.subarray(0, v[1]! + 2)
    : v;
}

function algorithmOf(s: McubootSignature, digestAlg: string): SignatureAlgorithm | undefined {
  if (s.scheme === 'rsa2048-pss' || s.scheme === 'rsa3072-pss') return PSS_SHA256;
  if (s.scheme === 'ecdsa') return ECDSA[digestAlg];
  if (s.scheme === 'ed25519') return ED25519;
  return undefined; // ECDSA224: bootutil dropped it, and its layout is not documented any more
}

function verify(buf: Buffer, img: McubootImage, s: McubootSignature, key: Known, digestAlg: string): Check {
  const alg = algorithmOf(s, digestAlg);
  if (!alg) return { status: 'unverified', reason: `MCUboot ${s.tlv.name} signatures are not supported` };
  const covered = buf.subarray(0, img.hashedEnd);
  let value = buf.subarray(s.tlv.start, s.tlv.end);
  // RSA and ECDSA sign the image hash, which node computes again from the covered bytes; Ed25519
  // takes the hash value itself as its message unless SIG_PURE says it signed the bytes.
  let data: Uint8Array = covered;
  if (s.scheme === 'ecdsa') value = unpadEcdsa(value);
  if (s.scheme === 'ed25519' && !img.pure) data = hash(digestAlg, covered, 'buffer');
  try {
    return verifySignature(key.spki, alg, data, value)
      ? { status: 'valid' }
      : { status: 'invalid', reason: `${s.tlv.name} signature at offset ${s.tlv.offset} does not verify` };
  } catch (err) {
    return { status: 'unverified', reason: reasonOf(err) };
  }
}

/** A failed image hash outranks the signature's own verdict, as bootutil refuses the image either way. */
function worst(a: Check, b: Check): Check {
  if (a.status === 'invalid') return a;
  if (b.status === 'invalid' || a.status === 'valid') return b;
  return a;
}

function hashCheck(buf: Buffer, img: McubootImage): { check: Check; alg: string; digest?: string } {
  if (!img.hash) {
    const check: Check = img.pure
      ? { status: 'valid' }
      : { status: 'invalid', reason: 'MCUboot image without a SHA256/384/512 TLV' };
    return { check, alg: 'sha256' };
  }
  const { algorithm, tlv } = img.hash;
  const stated = buf.toString('hex', tlv.start, tlv.end);
  const actual = hash(algorithm, buf.subarray(0, img.hashedEnd), 'hex');
  const check: Check =
    stated === actual
      ? { status: 'valid' }
      : {
          status: 'invalid',
          reason: `image ${algorithm} ${actual} differs from the ${tlv.name} TLV ${stated}`,
        };
  return { check, alg: algorithm, digest: stated };
}

function signerOf(k: Known | undefined): Signer {
  if (!k) return {};
  const i = k.info;
  return {
    keyId: i.keyId,
    keyAlgorithm: i.algorithm,
    ...(i.size !== undefined && { keySize: i.size }),
    ...(i.curve && { curve: i.curve }),
  };
}

/** Observations for an MCUboot image at offset 0; [] for other bytes; never throws. */
export function detectMcuboot(buf: Buffer, keys: readonly KeyObject[] = []): Detected[] {
  if (!isMcuboot(buf)) return [];
  let img: McubootImage;
  try {
    img = parseMcuboot(buf);
  } catch (err) {
    return [{ type: 'unparseable', offset: 0, encoding: 'binary', format: 'mcuboot', reason: reasonOf(err) }];
  }
  const out: Detected[] = [];
  const artifact = { sha256: hash('sha256', buf, 'hex'), format: 'mcuboot', size: buf.length };
  const { check: imageCheck, alg, digest } = hashCheck(buf, img);
  for (const s of img.signatures) {
    let key: Known | undefined;
    let keyCheck: Check | undefined;
    if (s.key?.name === 'PUBKEY') {
      try {
        const embedded = fromEmbedded(buf.subarray(s.key.start, s.key.end));
        key = embedded.key;
        out.push({
          type: 'public-key',
          offset: s.key.start,
          encoding: 'der',
          format: embedded.format,
          key: keyInfo(key),
        });
      } catch (err) {
        keyCheck = { status: 'unverified', reason: `PUBKEY TLV at offset ${s.key.offset}: ${reasonOf(err)}` };
        out.push({
          type: 'unparseable',
          offset: s.key.start,
          encoding: 'der',
          format: 'mcuboot-pubkey',
          reason: reasonOf(err),
        });
      }
    } else if (s.key?.name === 'KEYHASH') {
      const keyHash = buf.toString('hex', s.key.start, s.key.end);
      key = byKeyHash(keys, alg, keyHash);
      if (!key) keyCheck = { status: 'unverified', reason: `no known key has MCUboot KEYHASH ${keyHash}` };
    } else
      keyCheck = { status: 'unverified', reason: `${s.tlv.name} at offset ${s.tlv.offset} names no key` };
    const sigCheck = key ? verify(buf, img, s, key, alg) : keyCheck!;
    const check = worst(imageCheck, sigCheck);
    const summary: SignatureSummary = {
      sha256: hash('sha256', buf.subarray(s.tlv.start, s.tlv.end), 'hex'),
      format: 'mcuboot',
      signer: signerOf(key),
      signatureAlgorithm: algorithmOf(s, alg)?.name ?? s.tlv.name,
      digestAlgorithm: alg,
      ...(digest && { digest }),
      status: check.status,
      ...(check.reason && { reason: check.reason }),
      artifact,
      certificates: [],
      countersignatures: [],
    };
    out.push({ type: 'signature', offset: s.tlv.offset, encoding: 'binary', signature: summary });
  }
  return out;
}

function keyInfo(k: Known): { keyId: string; algorithm: string; size?: number; curve?: string } {
  const i = k.info;
  return {
    keyId: i.keyId,
    algorithm: i.algorithm,
    ...(i.size !== undefined && { size: i.size }),
    ...(i.curve && { curve: i.curve }),
  };
}
