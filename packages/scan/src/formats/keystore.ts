import { hash } from 'node:crypto';
import {
  classifyKeyDer,
  isJavaKeystore,
  isPkcs12,
  parseCertificate,
  parseJavaKeystore,
  parsePkcs12,
  type Certificate,
  type Encoding,
  type KeyInfo,
} from '@keywarden/core';
import type { Detected } from '../detect.ts';

/**
 * Keystores: PKCS#12 files and Java KeyStores. What is in the clear is reported as it is; a sealed
 * private key takes the identity of the certificate it is paired with (localKeyId in PKCS#12, the
 * entry's chain in JKS), since that certificate carries its public key. Encrypted PKCS#12 bags are
 * reported as unparseable with the scheme, so the inventory knows something is there unread.
 */

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const sha256 = (b: Uint8Array): string => hash('sha256', b, 'hex');

function keyOf(cert: Certificate | undefined): KeyInfo {
  if (!cert) return { algorithm: 'unknown' };
  const k = cert.publicKey;
  return {
    keyId: k.keyId,
    algorithm: k.algorithm,
    ...(k.size !== undefined && { size: k.size }),
    ...(k.curve !== undefined && { curve: k.curve }),
  };
}

/** A certificate observation, or an unparseable one naming `format`; the parsed certificate beside it. */
function certificate(
  buf: Buffer,
  r: { start: number; end: number },
  format: string,
): [Detected, Certificate | undefined] {
  try {
    const cert = parseCertificate(buf, r.start, r.end);
    return [
      { type: 'certificate', offset: r.start, encoding: 'der', cert, der: buf.subarray(r.start, r.end) },
      cert,
    ];
  } catch (err) {
    return [
      { type: 'unparseable', offset: r.start, encoding: 'der', format, reason: reason(err) },
      undefined,
    ];
  }
}

/** A private key whose bytes stay sealed: identity from its certificate, else the container's hash. */
function sealedKey(
  buf: Buffer,
  r: { start: number; end: number },
  cert: Certificate | undefined,
  cipher: string | undefined,
  comment: string | undefined,
): Detected {
  const key = keyOf(cert);
  return {
    type: 'private-key',
    offset: r.start,
    encoding: 'der',
    format: 'encrypted-pkcs8',
    key,
    encrypted: true,
    ...(cipher !== undefined && { cipher }),
    ...(comment !== undefined && { comment }),
    ...(key.keyId === undefined && { sealedId: sha256(buf.subarray(r.start, r.end)) }),
  };
}

function pkcs12(buf: Buffer): Detected[] {
  const p = parsePkcs12(buf);
  const out: Detected[] = [];
  const byKeyId = new Map<string, Certificate>();
  for (const bag of p.bags) {
    if (bag.kind !== 'certificate') continue;
    if (bag.certType !== 'x509') {
      out.push({
        type: 'unparseable',
        offset: bag.offset,
        encoding: 'der',
        format: 'pkcs12-certificate',
        reason: `certificate type ${bag.certType} is not X.509`,
      });
      continue;
    }
    const [o, cert] = certificate(buf, bag.value, 'pkcs12-certificate');
    out.push(o);
    if (cert && bag.localKeyId !== undefined) byKeyId.set(bag.localKeyId, cert);
  }
  for (const bag of p.bags) {
    const cert = bag.localKeyId === undefined ? undefined : byKeyId.get(bag.localKeyId);
    if (bag.kind === 'shrouded-key') out.push(sealedKey(buf, bag.value, cert, bag.cipher, bag.friendlyName));
    else if (bag.kind === 'key') out.push(clearKey(buf, bag.value, cert, bag.friendlyName));
  }
  for (const e of p.encrypted)
    out.push({
      type: 'unparseable',
      offset: e.offset,
      encoding: 'der',
      format: 'pkcs12-encrypted-bags',
      reason: `${e.size} octets of bags encrypted with ${e.algorithm}: their certificates and keys need the password`,
    });
  return out;
}

/** An unencrypted keyBag: the PKCS#8 parser finds the key's own identity. */
function clearKey(
  buf: Buffer,
  r: { start: number; end: number },
  cert: Certificate | undefined,
  comment: string | undefined,
): Detected {
  try {
    const o = classifyKeyDer(buf.subarray(r.start, r.end), r.start, 'der');
    if (o?.type !== 'private-key') throw new Error('keyBag does not hold a PrivateKeyInfo');
    const key = o.key.keyId === undefined && cert ? { ...o.key, ...keyOf(cert) } : o.key;
    return { ...o, key, ...(comment !== undefined && { comment }) };
  } catch (err) {
    return {
      type: 'unparseable',
      offset: r.start,
      encoding: 'der',
      format: 'pkcs12-key',
      reason: reason(err),
    };
  }
}

function javaKeystore(buf: Buffer): Detected[] {
  const ks = parseJavaKeystore(buf);
  const out: Detected[] = [];
  for (const e of ks.entries) {
    const certs = e.certificates.map((c) => certificate(buf, c, `${ks.format}-certificate`));
    for (const [o] of certs) out.push(o);
    if (e.kind === 'private-key' && e.key) out.push(sealedKey(buf, e.key, certs[0]?.[1], e.cipher, e.alias));
  }
  if (ks.stopped)
    out.push({
      type: 'unparseable',
      offset: ks.stopped.offset,
      encoding: 'binary',
      format: `${ks.format}-secret-key`,
      reason: ks.stopped.reason,
    });
  return out;
}

/** Certificates and keys of a PKCS#12 file or Java keystore; [] for anything else. Never throws. */
export function detectKeystore(buf: Buffer): Detected[] {
  const jks = isJavaKeystore(buf);
  if (!jks && !isPkcs12(buf)) return [];
  const format = jks ? (buf[0] === 0xfe ? 'jks' : 'jceks') : 'pkcs12';
  const encoding: Encoding = jks ? 'binary' : 'der';
  try {
    return jks ? javaKeystore(buf) : pkcs12(buf);
  } catch (err) {
    return [{ type: 'unparseable', offset: 0, encoding, format, reason: reason(err) }];
  }
}
