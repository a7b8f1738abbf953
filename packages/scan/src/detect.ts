import { hash } from 'node:crypto';
import {
  CMS_OIDS,
  checkDepth,
  classifyKeyDer,
  crlSummary,
  csrSummary,
  findJwks,
  pemBlocks,
  readOid,
  findSshPublicKeys,
  hasPem,
  keyFromPem,
  looksLikeCertificate,
  parseCertificate,
  parseCertificationRequest,
  parseCrl,
  readOne,
  readTlv,
  type Encoding,
  type Observation,
  type Tlv,
} from '@keywarden/core';
import { formatObservations } from './formats/index.ts';
import type { Layer } from './layer.ts';
import { cmsFile, signedContainers } from './signed.ts';
import { sweep } from './sweep.ts';

/**
 * A private key we cannot open (encrypted PKCS#8) has no key identity; `sealedId` (SHA-256 of the
 * ciphertext container) lets the inventory still count it once however often it is copied.
 */
export type Detected = Observation & {
  readonly sealedId?: string;
  /** Nested location when the observation is inside an archive entry: `outer.tar.gz!/inner/file`. */
  readonly path?: string;
  /** The archive entry's permission bits, where the archive records them. */
  readonly mode?: number;
  /** The layer the content itself proves (a TPM EK certificate is silicon), over the path's guess. */
  readonly layer?: Layer;
};

const CERT_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);
const CSR_LABELS = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
const CMS_LABELS = new Set(['PKCS7', 'CMS', 'PKCS #7 SIGNED DATA']);

/** A ContentInfo whose contentType is signedData (1.2.840.113549.1.7.2). */
function isSignedData(der: Uint8Array, top: Tlv): boolean {
  try {
    const oid = readTlv(der, top.start, top.end);
    return oid.tag === 0x06 && readOid(der, oid) === CMS_OIDS.signedData;
  } catch {
    return false;
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Parse one DER object whose type the caller already knows (from a PEM label) or sniffs. */
function fromDer(der: Buffer, offset: number, encoding: Encoding, label?: string): Detected | undefined {
  const top = readOne(der, 0, label === 'TRUSTED CERTIFICATE' ? readTlv(der, 0, der.length).end : der.length);
  checkDepth(der, top);
  if (label ? CERT_LABELS.has(label) : looksLikeCertificate(der, top))
    return {
      type: 'certificate',
      offset,
      encoding,
      cert: parseCertificate(der, top.hs, top.end),
      der: der.subarray(top.hs, top.end),
    };
  if (label === 'X509 CRL') return { type: 'crl', offset, encoding, crl: crlSummary(parseCrl(der)) };
  if (label && CSR_LABELS.has(label))
    return { type: 'csr', offset, encoding, csr: csrSummary(parseCertificationRequest(der)) };
  if (label) return undefined;
  const key = classifyKeyDer(der, offset, encoding);
  if (key) return seal(key, der);
  // Neither certificate nor key: try the other signed structures by shape.
  for (const attempt of [
    (): Detected => ({ type: 'crl', offset, encoding, crl: crlSummary(parseCrl(der)) }),
    (): Detected => ({ type: 'csr', offset, encoding, csr: csrSummary(parseCertificationRequest(der)) }),
  ]) {
    try {
      return attempt();
    } catch {
      // not this structure
    }
  }
  return undefined;
}

function seal(o: Observation, container: Uint8Array): Detected {
  if (o.type === 'private-key' && o.key.keyId === undefined)
    return { ...o, sealedId: hash('sha256', container, 'hex') };
  return o;
}

function pemObservations(buf: Buffer): Detected[] {
  const out: Detected[] = [];
  for (const block of pemBlocks(buf)) {
    const format = `pem:${block.label}`;
    if (block.error) {
      out.push({ type: 'unparseable', offset: block.offset, encoding: 'pem', format, reason: block.error });
      continue;
    }
    try {
      if (CMS_LABELS.has(block.label)) {
        // Offsets inside a decoded body mean nothing in the file: everything is at the block.
        for (const o of cmsFile(block.der, 0, block.der.length))
          out.push({ ...o, offset: block.offset, encoding: 'pem' });
        continue;
      }
      const key = keyFromPem(block.label, block.der, block.headers, block.offset);
      if (key) {
        out.push(seal(key, block.der));
        continue;
      }
      const o = fromDer(block.der, block.offset, 'pem', block.label);
      if (o) out.push(o);
    } catch (err) {
      out.push({ type: 'unparseable', offset: block.offset, encoding: 'pem', format, reason: reason(err) });
    }
  }
  return out;
}

/**
 * A whole-file DER candidate: starts with a SEQUENCE whose header is sane and whose first child is
 * a SEQUENCE, INTEGER or OID. Random binaries rarely pass, and truncated DER still does.
 */
function derCandidate(buf: Buffer): Tlv | 'truncated' | undefined {
  if (buf.length < 8 || buf[0] !== 0x30) return undefined;
  const l = buf[1]!;
  const hdr = l < 0x80 ? 2 : l >= 0x81 && l <= 0x84 ? 2 + (l & 0x7f) : 0;
  // A SEQUENCE or INTEGER first (certificates, keys, CRLs), or an OID (a CMS ContentInfo).
  if (!hdr || (buf[hdr] !== 0x30 && buf[hdr] !== 0x02 && buf[hdr] !== 0x06)) return undefined;
  try {
    return readTlv(buf, 0, buf.length);
  } catch {
    return 'truncated';
  }
}

function looksLikeText(buf: Buffer): boolean {
  const n = Math.min(buf.length, 4096);
  for (let i = 0; i < n; i++) {
    const b = buf[i]!;
    if (b === 0 || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d)) return false;
  }
  return true;
}

/**
 * DER objects at any offset of a binary (firmware images, ELF files, built-in keyrings). PEM is
 * already read by pemObservations. Where a container format has already reported its signatures,
 * the SignedData the sweep would find again inside it is left to that reading.
 */
function embedded(buf: Buffer, signaturesRead: boolean): Detected[] {
  const out: Detected[] = [];
  for (const hit of sweep(buf)) {
    if (hit.kind === 'pem' || (hit.kind === 'cms' && signaturesRead)) continue;
    try {
      if (hit.kind === 'cms') {
        out.push(...cmsFile(buf, hit.offset, hit.end));
        continue;
      }
      const o = fromDer(buf.subarray(hit.offset, hit.end), hit.offset, 'binary');
      if (o) out.push(o);
    } catch (err) {
      out.push({
        type: 'unparseable',
        offset: hit.offset,
        encoding: 'binary',
        format: hit.kind,
        reason: reason(err),
      });
    }
  }
  return out;
}

/**
 * Everything cryptographic in one file's bytes, found by content alone. Never throws. `name` (the
 * file or entry path) only helps where a format leaves something unsaid, such as a UEFI variable's name.
 */
export function detect(buf: Buffer, name?: string): Detected[] {
  const out: Detected[] = [];
  try {
    out.push(...signedContainers(buf));
    // A container that a format reader claims (keystore, MCUboot image, OpenPGP, SBOM) is read by it
    // alone: the generic DER paths would report its parts again, or call it unparseable.
    const formats = formatObservations(buf, name);
    out.push(...formats.found);
    if (formats.claimed) return out;
    if (hasPem(buf)) out.push(...pemObservations(buf));
    const der = derCandidate(buf);
    if (der === 'truncated') {
      out.push({
        type: 'unparseable',
        offset: 0,
        encoding: 'der',
        format: 'der',
        reason: 'DER length runs past the end of the file (truncated?)',
      });
    } else if (der && isSignedData(buf, der)) {
      try {
        out.push(...cmsFile(buf, 0, der.end));
      } catch (err) {
        out.push({ type: 'unparseable', offset: 0, encoding: 'der', format: 'cms', reason: reason(err) });
      }
    } else if (der) {
      try {
        const o = fromDer(der.end === buf.length ? buf : buf.subarray(0, der.end), 0, 'der');
        if (o) out.push(o);
        else
          out.push({
            type: 'unparseable',
            offset: 0,
            encoding: 'der',
            format: 'der',
            reason: 'DER structure is not a certificate, key, CSR or CRL',
          });
      } catch (err) {
        out.push({ type: 'unparseable', offset: 0, encoding: 'der', format: 'der', reason: reason(err) });
      }
    } else if (looksLikeText(buf)) {
      const text = buf;
      if (text.includes('ssh-') || text.includes('ecdsa-sha2-') || text.includes('sk-'))
        out.push(...findSshPublicKeys(text));
      if (text.includes('"kty"')) {
        const start = text.findIndex((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
        if (text[start] === 0x7b || text[start] === 0x5b) {
          try {
            out.push(...findJwks(text));
          } catch (err) {
            out.push({
              type: 'unparseable',
              offset: 0,
              encoding: 'json',
              format: 'jwk',
              reason: reason(err),
            });
          }
        }
      }
    } else
      out.push(
        ...embedded(
          buf,
          out.some((o) => o.type === 'signature'),
        ),
      );
  } catch (err) {
    out.push({
      type: 'unparseable',
      offset: 0,
      encoding: 'binary',
      format: 'unknown',
      reason: `detector failed: ${reason(err)}`,
    });
  }
  return out;
}
