import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { basename } from 'node:path';
import { createHash, hash } from 'node:crypto';
import { parseCertificate, pemBlocks, type SignatureSummary } from '@keywarden/core';
import type { Detected } from '../detect.ts';

/**
 * cosign blob signatures (`cosign sign-blob --output-signature F.sig --output-certificate F.pem F`).
 * F.sig is the signature bytes in base64 (ASN.1 ECDSA, raw Ed25519 or RSA PKCS#1 v1.5), and F.pem
 * the signer's certificate PEM, which cosign base64-encodes once more. Neither names the other, so
 * the signature is recorded here with the digest of F (read beside it) and checked after the scan,
 * once the certificate or a public key of the same directory is in the store.
 */

// A signature is at most an RSA-16384 value; a base64 certificate file holds a short chain.
const MAX_SIG_TEXT = 4096;
const MAX_CERT_TEXT = 256 * 1024;
const MAX_CERTS = 16;
const MIN_SIG_BYTES = 8;
const MAX_SIG_BYTES = 2048;
/** Larger artifacts are not hashed in the worker: the signature stays unverified with the reason. */
export const MAX_COSIGN_ARTIFACT_BYTES = 256 * 1024 * 1024;
const CHUNK = 1024 * 1024;

const SIG_NAME = /\.sig$/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const CERT_ARMOR = '-----BEGIN CERTIFICATE-----';
const ARMOR_B64 = Buffer.from('-----BEGIN').toString('base64').slice(0, 13);

/** The base64 body of a text file (surrounding white space and line breaks allowed), or undefined. */
function base64Body(buf: Buffer, max: number): Buffer | undefined {
  if (buf.length === 0 || buf.length > max) return undefined;
  const text = buf.toString('latin1').replace(/\s+/g, '');
  if (text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

/** What the value's shape says about the scheme; the key settles it after the scan. */
export function cosignScheme(value: Buffer): 'ecdsa' | 'ed25519' | 'rsa' {
  if (value[0] === 0x30 && value.length >= 8 && value.length <= 160 && value[1]! + 2 <= value.length)
    return 'ecdsa';
  return value.length === 64 ? 'ed25519' : 'rsa';
}

/** SHA-256 and size of the plain file at `path`, streamed; undefined when there is none or it is too big. */
function fileDigest(path: string): { sha256: string; size: number } | 'too-large' | undefined {
  let fd: number;
  try {
    // Non-blocking, so a FIFO planted beside the signature cannot stall the worker.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    if (st.size > MAX_COSIGN_ARTIFACT_BYTES) return 'too-large';
    const h = createHash('sha256');
    const chunk = Buffer.allocUnsafe(CHUNK);
    let size = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, size);
      if (n === 0) break;
      h.update(chunk.subarray(0, n));
      size += n;
      if (size > MAX_COSIGN_ARTIFACT_BYTES) return 'too-large';
    }
    return { sha256: h.digest('hex'), size };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function signatureObservation(buf: Buffer, value: Buffer, name: string): Detected {
  const artifactPath = name.replace(SIG_NAME, '');
  const scheme = cosignScheme(value);
  // Archive members have no path on disk: their artifact cannot be read beside them.
  const found = name.includes('!/') ? undefined : fileDigest(artifactPath);
  const base = {
    sha256: hash('sha256', value, 'hex'),
    format: 'cosign',
    signer: {},
    signatureAlgorithm: scheme,
    certificates: [],
    countersignatures: [],
  };
  let signature: SignatureSummary;
  if (found && found !== 'too-large')
    signature = {
      ...base,
      digestAlgorithm: 'sha256',
      digest: found.sha256,
      status: 'unverified',
      reason: `awaiting the certificate or public key beside ${basename(artifactPath)}`,
      artifact: { sha256: found.sha256, format: 'blob', size: found.size },
      pending: { signatureAlgorithm: { oid: '', name: scheme }, value: value.toString('hex') },
    };
  else
    // Without F the signature covers nothing we can name; the signature file itself stands in.
    signature = {
      ...base,
      status: 'unverified',
      reason:
        found === 'too-large'
          ? `artifact ${basename(artifactPath)} is larger than ${MAX_COSIGN_ARTIFACT_BYTES} bytes`
          : name.includes('!/')
            ? `artifact ${basename(artifactPath)} is an archive member: cosign signatures are paired only in plain directories`
            : `artifact ${basename(artifactPath)} is not beside the signature`,
      artifact: { sha256: hash('sha256', buf, 'hex'), format: 'cosign-signature', size: buf.length },
    };
  return { type: 'signature', offset: 0, encoding: 'text', signature };
}

/** Certificates of a cosign `--output-certificate` file: base64 of a PEM chain. */
function certificateObservations(decoded: Buffer): Detected[] {
  const out: Detected[] = [];
  for (const b of pemBlocks(decoded, MAX_CERTS)) {
    if (b.label !== 'CERTIFICATE') continue;
    try {
      const der = b.der;
      out.push({ type: 'certificate', offset: 0, encoding: 'text', cert: parseCertificate(der), der });
    } catch (err) {
      out.push({
        type: 'unparseable',
        offset: 0,
        encoding: 'text',
        format: 'cosign-certificate',
        reason: err instanceof Error ? err.message : String(err),
      });
    }
  }
  return out;
}

/** cosign signature and certificate files; [] for anything else; never throws. */
export function detectCosign(buf: Buffer, name?: string): Detected[] {
  if (name && SIG_NAME.test(name)) {
    const value = base64Body(buf, MAX_SIG_TEXT);
    if (value && value.length >= MIN_SIG_BYTES && value.length <= MAX_SIG_BYTES)
      return [signatureObservation(buf, value, name)];
    return [];
  }
  // Cheap gate before decoding: the text must open with base64 of "-----BEGIN".
  if (buf.length > MAX_CERT_TEXT || !buf.subarray(0, 64).toString('latin1').trimStart().startsWith(ARMOR_B64))
    return [];
  const decoded = base64Body(buf, MAX_CERT_TEXT);
  if (!decoded?.subarray(0, 64).toString('latin1').trimStart().startsWith(CERT_ARMOR)) return [];
  return certificateObservations(decoded);
}
